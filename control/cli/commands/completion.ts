import { GLOBAL_OPTIONS, type Resource } from "../command.ts";

/**
 * A bash completion function built from the command specs themselves, so a new command completes
 * without editing a script: resources, then verbs, then that command's flags.
 */
export function bashCompletion(resources: Resource[]): string {
  const globals = Object.keys(GLOBAL_OPTIONS).map((k) => `--${k}`);
  const verbCases = resources.map((r) => `    ${r.name}) verbs="${Object.keys(r.commands).join(" ")}";;`);
  const flagCases = resources.flatMap((r) =>
    Object.entries(r.commands).map(([v, c]) => `    "${r.name} ${v}") flags="${Object.keys(c.options ?? {}).map((k) => `--${k}`).join(" ")}";;`),
  );
  return `# flotilla bash completion: eval "$(flotilla completion bash)"
_flotilla() {
  local cur=\${COMP_WORDS[COMP_CWORD]} words=() i w skip=0 verbs="" flags=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    case $w in
      --api|--token|--cluster|-c|--output|-o|--profile) skip=1;;
      -*) ;;
      *) words+=("$w");;
    esac
  done
  case \${words[0]} in
${verbCases.join("\n")}
  esac
  case "\${words[0]} \${words[1]}" in
${flagCases.join("\n")}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags ${globals.join(" ")}" -- "$cur"))
  elif ((\${#words[@]} == 0)); then
    COMPREPLY=($(compgen -W "${resources.map((r) => r.name).join(" ")}" -- "$cur"))
  elif ((\${#words[@]} == 1)); then
    COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
  fi
}
complete -F _flotilla flotilla
`;
}

export function completion(resources: Resource[]): Resource {
  return {
    name: "completion",
    summary: "Print a shell completion script: eval \"$(flotilla completion bash)\" (zsh: completion zsh).",
    commands: {
      bash: {
        summary: "Bash completion (add eval \"$(flotilla completion bash)\" to ~/.bashrc).",
        offline: true,
        async run(ctx) {
          ctx.out(bashCompletion(resources));
        },
      },
      zsh: {
        summary: "Zsh completion through bashcompinit (add eval \"$(flotilla completion zsh)\" to ~/.zshrc).",
        offline: true,
        async run(ctx) {
          ctx.out(`autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n${bashCompletion(resources)}`);
        },
      },
    },
  };
}
