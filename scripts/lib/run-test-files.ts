/**
 * Runs test files, each in its own `bun test` process, and prints one line per file as it ends.
 *
 * Why one process per file: in one long process, what earlier files leave in the event loop (servers,
 * sockets, timers of libraries) slows the later ones down — all of test/control/ecs-api took 300 s in
 * one process and under 30 s file by file — and a file that hangs holds up everything after it with
 * nothing printed. Here a file that runs past its time limit is killed and reported by name, the run as
 * a whole has a budget after which the files not started are listed, and every line is printed as
 * soon as it is known, so a CI log shows where time went even when the run is cut off.
 *
 * Lanes: test/integration files run one after the other (they share the one Docker engine and
 * time real processes); the other files run `jobs` at a time beside them. A file that fails is run
 * once more on its own at the end and the retry is reported by name, so a timing flake is visible,
 * not hidden; a file that fails twice fails the run.
 *
 * Usage: bun scripts/lib/run-test-files.ts [files...]   (no files: every *.test.ts under test/)
 * Environment: FLOTILLA_TEST_JOBS (other-file lanes, default 2), FLOTILLA_TEST_FILE_TIMEOUT_S
 * (default 600), FLOTILLA_TEST_BUDGET_S (whole run, default 3000), FLOTILLA_TEST_VERBOSE=1 (print
 * every file's output, not only failing ones).
 */
import { Glob } from "bun";
import { relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const env = process.env;
const JOBS = Math.max(1, Number(env.FLOTILLA_TEST_JOBS ?? 2));
const FILE_TIMEOUT_MS = Number(env.FLOTILLA_TEST_FILE_TIMEOUT_S ?? 600) * 1000;
const BUDGET_MS = Number(env.FLOTILLA_TEST_BUDGET_S ?? 3000) * 1000;
const VERBOSE = env.FLOTILLA_TEST_VERBOSE === "1";
const started = Date.now();

interface Result {
  file: string;
  pass: number;
  fail: number;
  exit: number | null;
  timedOut: boolean;
  seconds: number;
  output: string;
}

const elapsed = () => ((Date.now() - started) / 1000).toFixed(0).padStart(4);
const lastCount = (output: string, word: "pass" | "fail") => {
  const all = [...output.matchAll(new RegExp(`^\\s*(\\d+) ${word}$`, "gm"))];
  return all.length ? Number(all[all.length - 1]![1]) : 0;
};
const failed = (r: Result) => r.timedOut || r.fail > 0 || r.exit !== 0;

async function runFile(file: string, timeoutMs: number): Promise<Result> {
  const t0 = Date.now();
  const proc = Bun.spawn(["bun", "test", "--timeout", "60000", "--preload", "./test/helpers/suite-end-check.ts", file], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    // Its own process group, so a timeout kills what the file spawned too (agents, aws, chromium).
    detached: true,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      proc.kill("SIGKILL");
    }
  }, timeoutMs);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const exit = await proc.exited;
  clearTimeout(timer);
  // Whatever the file left in its group (a process that outlived `bun test`) goes with it.
  try {
    process.kill(-proc.pid, "SIGKILL");
  } catch {}
  const output = `${out}${err}`;
  return {
    file,
    pass: lastCount(output, "pass"),
    fail: lastCount(output, "fail"),
    exit,
    timedOut,
    seconds: (Date.now() - t0) / 1000,
    output,
  };
}

function report(r: Result, label = "") {
  const verdict = r.timedOut ? "HUNG" : failed(r) ? "FAIL" : "ok";
  const extra = r.timedOut ? `killed after ${(FILE_TIMEOUT_MS / 1000).toFixed(0)} s` : r.exit !== 0 && r.fail === 0 ? `exit ${r.exit}` : "";
  console.log(
    `[${elapsed()} s] ${verdict.padEnd(4)} ${label}${relative(ROOT, r.file)}  ${r.pass} pass, ${r.fail} fail, ${r.seconds.toFixed(1)} s ${extra}`.trimEnd(),
  );
  if (VERBOSE || failed(r)) {
    const lines = r.output.trimEnd().split("\n");
    const shown = lines.length > 400 ? ["…", ...lines.slice(-400)] : lines;
    console.log(shown.map((l) => `    | ${l}`).join("\n"));
  }
}

const budgetLeft = () => BUDGET_MS - (Date.now() - started);

async function lane(queue: string[], results: Result[], notRun: string[]) {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (budgetLeft() <= 0) {
      notRun.push(file);
      continue;
    }
    const r = await runFile(file, Math.min(FILE_TIMEOUT_MS, Math.max(budgetLeft(), 1000)));
    results.push(r);
    report(r);
  }
}

async function main() {
  const args = process.argv.slice(2).map((f) => resolve(ROOT, f));
  const all = args.length
    ? args
    : [...new Glob("test/**/*.test.ts").scanSync({ cwd: ROOT })].map((f) => resolve(ROOT, f)).sort();
  const isIntegration = (f: string) => relative(ROOT, f).startsWith("test/integration/");
  const integration = all.filter(isIntegration);
  const others = all.filter((f) => !isIntegration(f));
  console.log(
    `running ${all.length} test files, one process each: ${integration.length} integration files in sequence, ${others.length} others ${JOBS} at a time beside them`,
  );

  const results: Result[] = [];
  const notRun: string[] = [];
  await Promise.all([
    lane(integration, results, notRun),
    ...Array.from({ length: JOBS }, () => lane(others, results, notRun)),
  ]);

  const retries = results.filter(failed);
  const final = new Map(results.map((r) => [r.file, r]));
  if (retries.length) {
    console.log(`\nRETRY: ${retries.length} file(s) failed; running each once more on its own: ${retries.map((r) => relative(ROOT, r.file)).join(" ")}`);
    for (const first of retries) {
      if (budgetLeft() <= 0) break;
      const r = await runFile(first.file, Math.min(FILE_TIMEOUT_MS, Math.max(budgetLeft(), 1000)));
      report(r, "retry ");
      final.set(r.file, r);
    }
  }

  const finals = [...final.values()];
  const pass = finals.reduce((n, r) => n + r.pass, 0);
  const fail = finals.reduce((n, r) => n + r.fail, 0);
  const bad = finals.filter(failed);
  const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 10);
  console.log(`\nslowest files: ${slowest.map((r) => `${relative(ROOT, r.file)} ${r.seconds.toFixed(0)} s`).join(", ")}`);
  if (retries.length) {
    const flaky = retries.filter((r) => !failed(final.get(r.file)!));
    if (flaky.length) console.log(`passed on retry (flaky): ${flaky.map((r) => relative(ROOT, r.file)).join(" ")}`);
  }
  if (bad.length) console.log(`failed: ${bad.map((r) => `${relative(ROOT, r.file)}${r.timedOut ? " (hung)" : ""}`).join(" ")}`);
  if (notRun.length) console.log(`NOT RUN (the ${(BUDGET_MS / 1000).toFixed(0)} s budget ran out): ${notRun.map((f) => relative(ROOT, f)).join(" ")}`);
  console.log(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`${pass} passed, ${fail} failed`);
  if (pass === 0) console.error("no test ran");
  process.exit(bad.length || notRun.length || pass === 0 ? 1 : 0);
}

await main();
