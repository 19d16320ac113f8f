import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { CommandTimeoutError, ExitCode } from "../../agent/errors/errors.ts";
import type { Log } from "../../agent/log/logger.ts";
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

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; outcome: T | unknown }> {
  const startedAt = performance.now();
  const outcome = await work().catch((error: unknown) => error);
  return { seconds: (performance.now() - startedAt) / 1000, outcome };
}

describe("issue 13 item 10: commands can hang", () => {
  test("a child reads EOF from stdin at once when the caller gives no input", async () => {
    const { seconds, outcome } = await timed(() => new ZxRunner(recordingLog()).run(["cat"], { timeoutSeconds: 10 }));
    expect(outcome).toEqual({ stdout: "", stderr: "", status: 0 });
    expect(seconds).toBeLessThan(3);
  });

  test("the caller's input still reaches the child", async () => {
    const result = await new ZxRunner(recordingLog()).run(["cat"], { input: "hello\n" });
    expect(result.stdout).toBe("hello\n");
  });

  test("a command running past its timeout is killed and raises a typed error naming it, the limit and what to do", async () => {
    const { seconds, outcome } = await timed(() => new ZxRunner(recordingLog()).run(["sleep", "5"], { timeoutSeconds: 1 }));
    expect(seconds).toBeLessThan(3);
    expect(outcome).toBeInstanceOf(CommandTimeoutError);
    const error = outcome as CommandTimeoutError;
    expect(error.exitCode).toBe(ExitCode.command);
    expect(error.message).toContain("sleep 5");
    expect(error.message).toContain("1 s");
    expect(error.hint).toMatch(/prompt|device/);
  });

  test("the kill reaches every process the command started, not only the command", async () => {
    const grandchild = ["sleep", "7.317"];
    await new ZxRunner(recordingLog()).run(["bash", "-c", `${grandchild.join(" ")}; true`], { timeoutSeconds: 1 }).catch(() => {});
    expect(processesRunning(grandchild)).toBe(0);
  });

  test("a timeout is raised even when the caller accepts a non-zero status", async () => {
    const outcome = await new ZxRunner(recordingLog()).run(["sleep", "5"], { timeoutSeconds: 1, allowFailure: true }).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(CommandTimeoutError);
  });

  test("a command that stops reading its piped stdin is killed at its timeout too", async () => {
    const { seconds, outcome } = await timed(() => new ZxRunner(recordingLog()).pipeInto(["sleep", "5"], endless(), { timeoutSeconds: 1 }));
    expect(seconds).toBeLessThan(3);
    expect(outcome).toBeInstanceOf(CommandTimeoutError);
  });

  test("the timeout is logged when the command starts, the generous default unless the call overrides it", async () => {
    const log = recordingLog();
    const run = new ZxRunner(log);
    await run.run(["true"]);
    await run.run(["true"], { timeoutSeconds: 7 });
    const starts = log.lines.filter((line) => line.message.startsWith("start: + true"));
    expect(starts.map((line) => line.fields?.timeoutSeconds)).toEqual([DEFAULT_TIMEOUT_SECONDS, 7]);
    expect(DEFAULT_TIMEOUT_SECONDS).toBeGreaterThanOrEqual(30 * 60);
  });
});
