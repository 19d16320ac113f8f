import { createReadStream, mkdirSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Progress } from "../log/logger.ts";
import type { CommandResult, Runner } from "../runner/runner.ts";
import { type Arg, type CommandEntry, type Entry, isLater } from "./entry.ts";
import { headLine } from "./outline.ts";
import type { StepContext } from "./step.ts";

/** What the interpreter did for one entry: the plan's head line, and every command and sector write it made. */
export interface Performed {
  head: string;
  outcome: "done" | "skipped" | "then" | "else" | "each";
  commands: string[][];
  sectorWrites: string[];
  children?: Performed[];
}

const CHUNK_BYTES = 4 * 1024 * 1024;

/** The one interpreter: runs the entries in order, commands through the runner; returns what it did. */
export async function perform(ctx: StepContext, entries: readonly Entry[]): Promise<Performed[]> {
  const recorder: { current?: Performed } = {};
  return performAll({ ...ctx, run: recording(ctx.run, recorder) }, entries, recorder);
}

async function performAll(ctx: StepContext, entries: readonly Entry[], recorder: { current?: Performed }): Promise<Performed[]> {
  const done: Performed[] = [];
  for (const entry of entries) {
    const record: Performed = { head: headLine(entry), outcome: "done", commands: [], sectorWrites: [] };
    done.push(record);
    recorder.current = record;
    await performOne(ctx, entry, record, recorder);
  }
  return done;
}

async function performOne(ctx: StepContext, entry: Entry, record: Performed, recorder: { current?: Performed }): Promise<void> {
  switch (entry.kind) {
    case "command":
      if (entry.skipIf && (await entry.skipIf.holds(ctx))) record.outcome = "skipped";
      else await runCommand(ctx, entry);
      return;
    case "write":
      if (entry.skipIf && (await entry.skipIf.holds(ctx))) record.outcome = "skipped";
      else await entry.perform(ctx);
      return;
    case "check":
      await entry.verify(ctx);
      return;
    case "choice": {
      const yes = await entry.if.holds(ctx);
      record.outcome = yes ? "then" : "else";
      record.children = await performAll(ctx, yes ? entry.then : entry.else, recorder);
      return;
    }
    case "each": {
      record.outcome = "each";
      const values = await entry.over.resolve(ctx);
      record.children = [];
      for (const value of values) record.children.push(...(await performAll(ctx, entry.body(value), recorder)));
      return;
    }
  }
}

export async function resolveArgv(ctx: StepContext, argv: readonly Arg[]): Promise<string[]> {
  const resolved: string[] = [];
  for (const arg of argv) resolved.push(...(isLater(arg) ? [await arg.resolve(ctx)].flat() : [arg]));
  return resolved;
}

async function runCommand(ctx: StepContext, entry: CommandEntry): Promise<CommandResult> {
  const argv = await resolveArgv(ctx, entry.argv);
  if (entry.mountpoint && (!ctx.run.dryRun || entry.options?.readOnly)) mkdirSync(entry.mountpoint, { recursive: true });
  if (entry.retry) return runWithRetry(ctx, entry, argv);
  if (entry.stdin) {
    const progress = ctx.log.progress(entry.stdin.progress);
    const source = entry.stdin.open ? entry.stdin.open(ctx, progress) : readWithProgress(entry.stdin.file, progress);
    const result = await ctx.run.pipeInto(argv, source, entry.options);
    progress.finish();
    return result;
  }
  return ctx.run.run(argv, entry.options);
}

async function runWithRetry(ctx: StepContext, entry: CommandEntry, argv: string[]): Promise<CommandResult> {
  const { attempts, before, pauseMs, otherwise } = entry.retry!;
  let result: CommandResult | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    for (const first of before) await runCommand(ctx, first);
    const last = attempt === attempts;
    result = await ctx.run.run(argv, { ...entry.options, allowFailure: !last || otherwise !== undefined || entry.options?.allowFailure });
    if (result.status === 0) return result;
    if (!last) await (ctx.pause ?? sleep)(attempt * pauseMs);
  }
  for (const fallback of otherwise ?? []) result = await runCommand(ctx, fallback);
  return result!;
}

async function* readWithProgress(path: string, progress: Progress): AsyncGenerator<Uint8Array> {
  const total = statSync(path).size;
  let done = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) {
    done += (chunk as Buffer).length;
    progress.update(done, total);
    yield chunk as Buffer;
  }
}

/** The runner, noting every command and sector write under the entry being performed. */
function recording(run: Runner, recorder: { current?: Performed }): Runner {
  const note = (argv: readonly string[]) => recorder.current?.commands.push([...argv]);
  return {
    get dryRun() {
      return run.dryRun;
    },
    run: (argv, options) => (note(argv), run.run(argv, options)),
    pipeInto: (argv, source, options) => (note(argv), run.pipeInto(argv, source, options)),
    filter: (argv) => (note(argv), run.filter(argv)),
    readSectors: (device, lba, count) => run.readSectors(device, lba, count),
    writeSectors: (device, lba, bytes, what) => {
      recorder.current?.sectorWrites.push(`${device} sectors ${lba}+${Math.ceil(bytes.length / 512)}: ${what}`);
      return run.writeSectors(device, lba, bytes, what);
    },
  };
}
