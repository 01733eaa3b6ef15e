import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseAgentConfig } from "../../agent/config.ts";

const base = ["--control", "mqtt://127.0.0.1:1883"];
const dir = mkdtempSync(join(tmpdir(), "flotilla-act-"));

describe("the activation code can stay off the command line (ps shows argv to every user)", () => {
  test("--activation-code-file and FLOTILLA_ACTIVATION_CODE_FILE read it from a file, trimmed", () => {
    const f = join(dir, "code");
    writeFileSync(f, "s3cret-code\n", { mode: 0o600 });
    expect(parseAgentConfig([...base, "--activation-code-file", f], {}).activationCode).toBe("s3cret-code");
    expect(parseAgentConfig(base, { FLOTILLA_ACTIVATION_CODE_FILE: f }).activationCode).toBe("s3cret-code");
  });

  test("FLOTILLA_ACTIVATION_CODE reads it from the environment", () => {
    expect(parseAgentConfig(base, { FLOTILLA_ACTIVATION_CODE: "from-env" }).activationCode).toBe("from-env");
  });

  test("a missing or empty file is a configuration error naming the flag", () => {
    expect(() => parseAgentConfig([...base, "--activation-code-file", join(dir, "none")], {})).toThrow(ConfigError);
    expect(() => parseAgentConfig([...base, "--activation-code-file", join(dir, "none")], {})).toThrow(/--activation-code-file: cannot read/);
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n");
    expect(() => parseAgentConfig([...base, "--activation-code-file", empty], {})).toThrow(/is empty/);
  });
});
