import { describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommandError, CommandTimeoutError, ExitCode } from "../../agent/errors/errors.ts";
import type { Log } from "../../agent/log/logger.ts";
import { killProcessTree } from "../../agent/runner/process-tree.ts";
import { DEFAULT_TIMEOUT_SECONDS, ZxRunner } from "../../agent/runner/runner.ts";

interface Line {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

function recordingLog(lines: Line[] = []): Log & { lines: Line[] } {
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) => lines.push({ level, message, fields });
  const log: Log & { lines: Line[] } = {
    lines,
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
    debug: record("debug"),
    child: () => log,
    progress: () => ({ update() {}, finish() {} }),
  };
  return log;
}

async function* endless(): AsyncIterable<Uint8Array> {
  const chunk = new Uint8Array(1 << 20);
  for (;;) yield chunk;
}

function processesRunning(argv: string[]): number {
  const wanted = `${argv.join("\0")}\0`;
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8") === wanted;
      } catch {
        return false;
      }
    }).length;
}

/** Far below the 30 s the commands below would run unkilled, far above the 1 s limit: no bet on how busy the machine is. */
const KILLED_EARLY_SECONDS = 20;

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; outcome: T | unknown }> {
  const startedAt = performance.now();
  const outcome = await work().catch((error: unknown) => error);
  return { seconds: (performance.now() - startedAt) / 1000, outcome };
}

describe("issue 13 item 10: commands can hang", () => {
  test("a child reads EOF from stdin at once when the caller gives no input", async () => {
    const { seconds, outcome } = await timed(() => new ZxRunner(recordingLog()).run(["cat"], { timeoutSeconds: 30 }));
    expect(outcome).toEqual({ stdout: "", stderr: "", status: 0 });
    expect(seconds).toBeLessThan(KILLED_EARLY_SECONDS);
  });

  test("the caller's input still reaches the child", async () => {
    const result = await new ZxRunner(recordingLog()).run(["cat"], { input: "hello\n" });
    expect(result.stdout).toBe("hello\n");
  });

  test("a command running past its timeout is killed and raises a typed error naming it, the limit and what to do", async () => {
    const { seconds, outcome } = await timed(() => new ZxRunner(recordingLog()).run(["sleep", "30"], { timeoutSeconds: 1 }));
    expect(seconds).toBeLessThan(KILLED_EARLY_SECONDS);
    expect(outcome).toBeInstanceOf(CommandTimeoutError);
    const error = outcome as CommandTimeoutError;
    expect(error.exitCode).toBe(ExitCode.command);
    expect(error.message).toContain("sleep 30");
    expect(error.message).toContain("1 s");
    expect(error.hint).toMatch(/prompt|device/);
  });

  test("the kill reaches every process the command started, not only the command", async () => {
    const grandchild = ["sleep", "7.317"];
    await new ZxRunner(recordingLog()).run(["bash", "-c", `${grandchild.join(" ")}; true`], { timeoutSeconds: 1 }).catch(() => {});
    expect(processesRunning(grandchild)).toBe(0);
  });

  test("a timeout is raised even when the caller accepts a non-zero status", async () => {
    const outcome = await new ZxRunner(recordingLog()).run(["sleep", "30"], { timeoutSeconds: 1, allowFailure: true }).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(CommandTimeoutError);
  });

  test("a command that stops reading its piped stdin is killed at its timeout too", async () => {
    const { seconds, outcome } = await timed(() => new ZxRunner(recordingLog()).pipeInto(["sleep", "30"], endless(), { timeoutSeconds: 1 }));
    expect(seconds).toBeLessThan(KILLED_EARLY_SECONDS);
    expect(outcome).toBeInstanceOf(CommandTimeoutError);
  });

  test("the timeout is logged when the command starts, the generous default unless the call overrides it", async () => {
    const log = recordingLog();
    const run = new ZxRunner(log);
    await run.run(["true"]);
    await run.run(["true"], { timeoutSeconds: 7 });
    const starts = log.lines.filter((line) => line.message === "+ true");
    expect(starts.map((line) => line.fields?.timeoutSeconds)).toEqual([DEFAULT_TIMEOUT_SECONDS, 7]);
    expect(DEFAULT_TIMEOUT_SECONDS).toBeGreaterThanOrEqual(30 * 60);
  });
});

async function until(condition: () => boolean, what: string, seconds = 60): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await Bun.sleep(20);
  }
}

function logLines(file: string): Array<{ level: number; msg: string }> {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe("issue 15: every command is in the log before it runs", () => {
  test("`+ argv` at info before the command, its status and duration after", async () => {
    const log = recordingLog();
    await new ZxRunner(log).run(["sh", "-c", "exit 0", "it's"]);
    const mine = log.lines.filter((line) => line.fields?.argv);
    expect(mine.map((line) => [line.level, line.message.replace(/[\d.]+ s/, "N s")])).toEqual([
      ["info", `+ sh -c 'exit 0' 'it'\\''s'`],
      ["debug", `exit 0 after N s: + sh -c 'exit 0' 'it'\\''s'`],
    ]);
    expect(mine[1]!.fields).toMatchObject({ status: 0, seconds: expect.any(Number) });
  });

  test("a failing command's error quotes its argv as the log does", async () => {
    const error = await new ZxRunner(recordingLog()).run(["sh", "-c", "exit 3"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).message).toContain("exit status 3: sh -c 'exit 3'");
  });

  test("zx's account of the command (the line it runs, the output) goes to the log file, not to nowhere", async () => {
    const log = recordingLog();
    await new ZxRunner(log).run(["sh", "-c", "echo to-out; echo to-err >&2"]);
    const zx = log.lines.filter((line) => line.fields?.zx).map((line) => line.message);
    expect(zx).toEqual(expect.arrayContaining([expect.stringMatching(/^zx runs: .*to-out/), "stdout: to-out", "stderr: to-err"]));
    expect(log.lines.filter((line) => line.fields?.zx).every((line) => line.level === "debug")).toBe(true);
  });

  test(
    "a kill during the command leaves its `+ argv` line in the log on disk, written before the command started",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "va-runner-kill-"));
      try {
        const logFile = join(dir, "agent.log");
        const seenAtStart = join(dir, "log-as-the-command-started");
        // The command first copies the log as it finds it, then hangs until killed.
        const argv = ["sh", "-c", 'cp "$1" "$2"; exec sleep 30', "sh", logFile, seenAtStart];
        const agent = spawn(process.execPath, [join(import.meta.dir, "fixtures/run-logged-command.ts"), logFile, ...argv], { stdio: "ignore" });
        const exited = once(agent, "exit");
        await until(() => existsSync(seenAtStart), "the command to start");
        killProcessTree(agent.pid!);
        await exited;

        const line = `+ sh -c 'cp "$1" "$2"; exec sleep 30' sh ${logFile} ${seenAtStart}`;
        expect(logLines(seenAtStart).map((l) => l.msg)).toContain(line);
        const kept = logLines(logFile);
        expect(kept.find((l) => l.msg === line)?.level).toBe(30); // pino's info
        expect(kept.filter((l) => l.msg.startsWith("exit "))).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    { timeout: 90_000 },
  );
});
