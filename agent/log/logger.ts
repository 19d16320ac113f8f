import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import pino from "pino";

/**
 * Two audiences: a pino JSON log on disk for machines and post-mortems, and short readable
 * lines on the console for the operator watching the serial console or the dracut shell.
 */
export interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Log;
  /** Progress of a long step; prints at most one console line per 10 % and logs each line. */
  progress(label: string): Progress;
  readonly file?: string;
}

export interface Progress {
  update(done: number, total: number): void;
  finish(): void;
}

type ConsoleSink = (line: string) => void;

export function createLog(options: { file?: string; console?: ConsoleSink; level?: string } = {}): Log {
  const destination = options.file ? openDestination(options.file) : pino.destination({ dest: "/dev/null", sync: true });
  const base = pino({ level: options.level ?? "debug", base: { pid: process.pid } }, destination);
  return wrap(base, options.console ?? ((line) => process.stderr.write(`${line}\n`)), options.file);
}

/** Loud on purpose, between bars: for what can cost the disk, such as a bundle whose signature was not verified. */
export function warnLoudly(log: Log, warning: string): void {
  const bar = "!".repeat(72);
  log.warn(bar);
  log.warn(warning);
  log.warn(bar);
}

export function silentLog(): Log {
  return wrap(pino({ level: "silent" }), () => {}, undefined);
}

/** Written and fsynced line by line: the runner's `+ argv` line is on disk before the command starts. */
function openDestination(file: string) {
  mkdirSync(dirname(file), { recursive: true });
  return pino.destination({ dest: file, sync: true, fsync: true, append: true });
}

function wrap(logger: pino.Logger, say: ConsoleSink, file: string | undefined, prefix = ""): Log {
  const stamp = () => new Date().toISOString().slice(11, 19);
  const emit = (level: "info" | "warn" | "error" | "debug", message: string, fields?: Record<string, unknown>) => {
    logger[level](fields ?? {}, message);
    if (level === "debug") return;
    const tag = level === "info" ? "" : `${level.toUpperCase()}: `;
    say(`[va-agent ${stamp()}] ${prefix}${tag}${message}`);
  };
  return {
    file,
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    debug: (m, f) => emit("debug", m, f),
    child: (bindings) => wrap(logger.child(bindings), say, file, bindings.step ? `${bindings.step}: ` : prefix),
    progress: (label) => progressReporter(label, (m, f) => emit("info", m, f)),
  };
}

function progressReporter(label: string, emit: (m: string, f: Record<string, unknown>) => void): Progress {
  let lastDecile = -1;
  const startedAt = performance.now();
  let last = { done: 0, total: 0 };
  const report = (done: number, total: number) => {
    const seconds = (performance.now() - startedAt) / 1000;
    const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
    const rate = seconds > 0 ? done / seconds / 1048576 : 0;
    emit(`${label}: ${percent}% (${mib(done)} of ${mib(total)} MiB, ${rate.toFixed(1)} MiB/s)`, {
      progress: label,
      done,
      total,
      seconds: Number(seconds.toFixed(2)),
    });
  };
  return {
    update(done, total) {
      last = { done, total };
      const decile = total > 0 ? Math.floor((done / total) * 10) : 0;
      if (decile > lastDecile && decile < 10) {
        lastDecile = decile;
        report(done, total);
      }
    },
    finish() {
      report(last.total || last.done, last.total || last.done);
    },
  };
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(0);
