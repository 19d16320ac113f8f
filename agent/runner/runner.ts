import { once } from "node:events";
import { spawn } from "node:child_process";
import { closeSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import type { Writable } from "node:stream";
import { $, type LogEntry, type ProcessPromise } from "zx/core";
import { CommandError, CommandTimeoutError, ToolMissingError } from "../errors/errors.ts";
import type { Log } from "../log/logger.ts";
import { formatArgv } from "./argv-text.ts";
import { killProcessTree } from "./process-tree.ts";

export interface CommandResult {
  stdout: string;
  stderr: string;
  status: number;
}

export interface RunOptions {
  /** The command only reads state (probing): it runs even in dry-run mode. */
  readOnly?: boolean;
  /** Return a non-zero status instead of throwing CommandError. */
  allowFailure?: boolean;
  /** Written to the child's stdin; without it the child reads /dev/null, so a prompt sees EOF instead of waiting. */
  input?: string;
  /** The child (and everything it started) is killed after this long: CommandTimeoutError, even with allowFailure. */
  timeoutSeconds?: number;
}

/** A command used as a stream filter (a decompressor): input and output streamed, never held whole. */
export interface Filter {
  /** The command's stdin: write, then end it. */
  readonly input: Writable;
  readonly output: AsyncIterable<Buffer>;
  /** Settles when the command has exited: its status and the tail of its stderr (never throws). */
  readonly finished: Promise<CommandResult>;
  /** Kills the command (its output is no longer needed). */
  stop(): void;
}

/** Every external command of the agent goes through a Runner: argv arrays only, never shell strings. */
export interface Runner {
  readonly dryRun: boolean;
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Runs argv with `source` streamed into its stdin (extracting the payload while it is read). */
  pipeInto(argv: readonly string[], source: AsyncIterable<Uint8Array>, options?: RunOptions): Promise<CommandResult>;
  /** Starts argv as a stream filter; ToolMissingError when argv[0] cannot be run. Runs in dry-run too (it only reads). */
  filter(argv: readonly string[]): Promise<Filter>;
  /** Reads whole 512-byte sectors of a block device (or image) in-process. */
  readSectors(device: string, lba: number, count: number): Promise<Buffer>;
  /**
   * Writes whole sectors in-process and flushes them to the device before returning: the boot
   * sector, the GPT and the staged boot code, where the order of single writes is the safety.
   * Logged like a command; skipped in dry-run.
   */
  writeSectors(device: string, lba: number, bytes: Uint8Array, what: string): Promise<void>;
}

const COMMAND_NOT_FOUND = 127;
const STDERR_TAIL_LINES = 12;
/** A long command (extraction, an initramfs rebuild) says it is alive on the console this often. */
const HEARTBEAT_MS = 60_000;
const HEARTBEAT_ARGV_CHARS = 120;
/** zx's account of a command's output goes to the log file, each chunk clipped: a listing can be long. */
const OUTPUT_CHUNK_CHARS = 4000;
/** Generous: the longest honest command (extracting or rebuilding an initramfs on a slow disk) takes minutes. */
export const DEFAULT_TIMEOUT_SECONDS = 30 * 60;

/** zx underneath (which needs bash: the tiny system's overlay ships it). */
export class ZxRunner implements Runner {
  private readonly zxLog: (entry: LogEntry) => void;

  constructor(
    private readonly log: Log,
    readonly dryRun = false,
  ) {
    $.env = { ...process.env, LC_ALL: "C", LVM_SUPPRESS_FD_WARNINGS: "1" };
    this.zxLog = zxLogInto(log);
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return this.execute(argv, options, (deadline) => {
      const stdin = options.input === undefined ? "ignore" : "pipe";
      return outcomeOf($({ nothrow: true, log: this.zxLog, input: options.input, stdio: [stdin, "pipe", "pipe"] })`${argv}`, deadline);
    });
  }

  async pipeInto(argv: readonly string[], source: AsyncIterable<Uint8Array>, options: RunOptions = {}) {
    return this.execute(argv, options, async (deadline) => {
      const child = $({ nothrow: true, log: this.zxLog })`${argv}`;
      const outcome = outcomeOf(child, deadline);
      const stdin = child.stdin;
      // A child that stops reading (it failed, or was killed at its deadline) breaks the pipe: its
      // exit status, not the EPIPE, says what happened.
      stdin.on("error", () => {});
      try {
        for await (const chunk of source) {
          if (!stdin.write(chunk)) await once(stdin, "drain", { signal: deadline.signal });
        }
      } catch (error) {
        if (!deadline.signal.aborted && (error as NodeJS.ErrnoException).code !== "EPIPE") throw error;
      } finally {
        stdin.end();
      }
      return outcome;
    });
  }

  /** node's spawn, not zx: zx keeps all of a command's stdout, and a decompressed payload is gigabytes. */
  async filter(argv: readonly string[]): Promise<Filter> {
    const startedAt = this.logStart(argv, { filter: true });
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: $.env });
    let stderr = "";
    child.stderr.on("data", (data: Buffer) => (stderr = (stderr + data.toString()).slice(-4000)));
    child.stdin.on("error", () => {}); // EPIPE when the command stops early: seen in its exit status
    const finished = new Promise<CommandResult>((resolve) =>
      child.once("close", (code, signal) => {
        const status = code ?? 128 + (signal === "SIGKILL" ? 9 : 15);
        this.logEnd(argv, startedAt, { status });
        resolve({ stdout: "", stderr: tail(stderr), status });
      }),
    );
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (error: NodeJS.ErrnoException) => reject(error.code === "ENOENT" ? new ToolMissingError(argv[0]!) : error));
    });
    const stop = () => {
      child.kill("SIGKILL");
      child.stdout.destroy(); // unread output would hold back "close"
    };
    return { input: child.stdin, output: child.stdout as AsyncIterable<Buffer>, finished, stop };
  }

  async readSectors(device: string, lba: number, count: number): Promise<Buffer> {
    const fd = openSync(device, "r");
    try {
      const buffer = Buffer.alloc(count * 512);
      readSync(fd, buffer, 0, buffer.length, lba * 512);
      return buffer;
    } finally {
      closeSync(fd);
    }
  }

  async writeSectors(device: string, lba: number, bytes: Uint8Array, what: string): Promise<void> {
    const sectors = `${device} sectors ${lba}+${Math.ceil(bytes.length / 512)}`;
    if (this.dryRun) {
      this.log.info(`(dry run) write ${what} to ${sectors}`);
      return;
    }
    if (bytes.length % 512 !== 0) throw new Error(`${what}: ${bytes.length} bytes is not a whole number of sectors`);
    this.log.info(`write ${what} to ${sectors}`, { device, lba, bytes: bytes.length });
    const startedAt = performance.now();
    const fd = openSync(device, "r+");
    try {
      writeSync(fd, bytes, 0, bytes.length, lba * 512);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.log.debug(`written in ${secondsSince(startedAt)} s: ${what} to ${sectors}`, { device, lba, bytes: bytes.length, seconds: secondsSince(startedAt) });
  }

  private async execute(
    argv: readonly string[],
    options: RunOptions,
    spawn: (deadline: AbortController) => Promise<CommandResult>,
  ): Promise<CommandResult> {
    if (this.dryRun && !options.readOnly) {
      this.log.info(`(dry run) + ${formatArgv(argv)}`);
      return { stdout: "", stderr: "", status: 0 };
    }
    const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const startedAt = this.logStart(argv, { timeoutSeconds });
    const heartbeat = setInterval(() => {
      const running = Math.round((performance.now() - startedAt) / 1000);
      this.log.info(`still running after ${running} s: ${shortArgv(argv)}`, { argv, seconds: running });
    }, HEARTBEAT_MS);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutSeconds * 1000);
    const result = await spawn(deadline).finally(() => {
      clearInterval(heartbeat);
      clearTimeout(timer);
    });
    this.logEnd(argv, startedAt, { status: result.status, timedOut: deadline.signal.aborted });
    if (deadline.signal.aborted) throw new CommandTimeoutError(argv, timeoutSeconds, tail(result.stderr));
    return checkResult(argv, result, options);
  }

  /**
   * `+ argv` before the command starts: the log destination writes synchronously (and fsyncs), so a
   * command that hangs, or is cut by a kill or a power loss, still has its line in the log on disk.
   */
  private logStart(argv: readonly string[], fields: Record<string, unknown>): number {
    this.log.info(`+ ${formatArgv(argv)}`, { argv, ...fields });
    return performance.now();
  }

  /** On disk only: the console already showed the command, and a failure raises an error that says it. */
  private logEnd(argv: readonly string[], startedAt: number, fields: { status: number; timedOut?: boolean }): void {
    const seconds = secondsSince(startedAt);
    this.log.debug(`exit ${fields.status} after ${seconds} s: + ${formatArgv(argv)}`, { argv, ...fields, seconds });
  }
}

/** zx's own log (the bash line it runs, the command's output, kills) into ours, on disk only; the runner logs start and end itself. */
function zxLogInto(log: Log): (entry: LogEntry) => void {
  return (entry) => {
    if (entry.kind === "end") return;
    if (entry.kind === "stdout" || entry.kind === "stderr") {
      const text = entry.data.toString();
      const clipped = text.length > OUTPUT_CHUNK_CHARS ? `${text.slice(0, OUTPUT_CHUNK_CHARS)}… (${text.length} chars)` : text;
      log.debug(`${entry.kind}: ${clipped.trimEnd()}`, { zx: entry.kind });
      return;
    }
    if (entry.kind === "cmd") {
      log.debug(`zx runs: ${entry.cmd}`, { zx: entry.kind });
      return;
    }
    log.debug(`zx ${entry.kind}`, { zx: entry.kind, entry });
  };
}

function secondsSince(startedAt: number): number {
  return Number(((performance.now() - startedAt) / 1000).toFixed(3));
}

/** Waits for the child; when the deadline passes first, kills it with all it started and waits for the end. */
async function outcomeOf(child: ProcessPromise, deadline: AbortController): Promise<CommandResult> {
  const kill = () => {
    if (child.pid !== undefined) killProcessTree(child.pid);
  };
  if (deadline.signal.aborted) kill();
  deadline.signal.addEventListener("abort", kill, { once: true });
  try {
    const output = await child;
    return { stdout: output.stdout, stderr: output.stderr, status: output.exitCode ?? 1 };
  } finally {
    deadline.signal.removeEventListener("abort", kill);
  }
}

export function checkResult(argv: readonly string[], result: CommandResult, options: RunOptions): CommandResult {
  if (result.status === 0 || options.allowFailure) return result;
  if (result.status === COMMAND_NOT_FOUND && /not found|No such file/.test(result.stderr)) {
    throw new ToolMissingError(argv[0] === "chroot" ? (argv[2] ?? "chroot") : (argv[0] ?? "?"));
  }
  throw new CommandError(argv, result.status, tail(result.stderr));
}

function shortArgv(argv: readonly string[]): string {
  const text = formatArgv(argv);
  return text.length > HEARTBEAT_ARGV_CHARS ? `${text.slice(0, HEARTBEAT_ARGV_CHARS)}…` : text;
}

function tail(text: string): string {
  return text.trimEnd().split("\n").slice(-STDERR_TAIL_LINES).join("\n");
}
