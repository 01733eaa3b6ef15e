/**
 * Version skew between an agent and its control service (docs/agent-upgrades.md): the control
 * takes agents of its own minor version or newer, and one minor version behind (said in the
 * instance's attributes); an agent older than that gets no new tasks. A version that does not
 * start with MAJOR.MINOR is not judged (a development build).
 */
export type AgentVersionSkew = "current" | "one-minor-behind" | "too-old" | "unknown";

const MAJOR_MINOR = /^(\d+)\.(\d+)(?:\.|$|-)/;

export function agentVersionSkew(agentVersion: string, controlVersion: string): AgentVersionSkew {
  const a = MAJOR_MINOR.exec(agentVersion);
  const c = MAJOR_MINOR.exec(controlVersion);
  if (!a || !c) return "unknown";
  const [am, an, cm, cn] = [Number(a[1]), Number(a[2]), Number(c[1]), Number(c[2])];
  if (am > cm || (am === cm && an >= cn)) return "current";
  if (am === cm && an === cn - 1) return "one-minor-behind";
  return "too-old";
}
