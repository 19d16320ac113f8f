import type { Progress } from "../log/logger.ts";
import type { RunOptions } from "../runner/runner.ts";
import { mountedTargets } from "../disk/mounts.ts";
import type { StepContext } from "./step.ts";

/**
 * What a step does, as data: `plan` renders these entries and the interpreter (perform.ts) runs
 * exactly them, so the plan is the whole truth. A value only known at run time is a `Later`, shown
 * in the plan as its `<…>` placeholder; a condition, a check or a choice says in words what it
 * decides and lists the read-only commands it asks.
 */
export type Entry = CommandEntry | WriteEntry | CheckEntry | ChoiceEntry | EachEntry;

/** A run-time fact: the plan shows `placeholder`, the run uses `resolve` (which asks only the commands in `asks`). */
export interface Later<T = string | string[]> {
  placeholder: string;
  asks?: readonly (readonly Arg[])[];
  resolve(ctx: StepContext): T | Promise<T>;
}

/** An argument; a Later resolving to a list stands for that many arguments. */
export type Arg = string | Later;

/** Decided at run time, before the entry it guards. */
export interface Condition {
  /** How the plan says it: "/sysimage is mounted already". */
  says: string;
  /** The read-only commands it asks (the plan shows them; the run may ask fewer). */
  asks?: readonly (readonly Arg[])[];
  holds(ctx: StepContext): boolean | Promise<boolean>;
}

export interface CommandEntry {
  kind: "command";
  argv: readonly Arg[];
  skipIf?: Condition;
  /** mount: the mountpoint is made first when missing. */
  mountpoint?: string;
  /**
   * The command reads this file on its stdin (tar extracting the payload from RAM), or, with `open`,
   * what that streams (a bundle's member, hashed as it passes: `file` then names it for the plan).
   */
  stdin?: { file: string; progress: string; open?: (ctx: StepContext, progress: Progress) => AsyncIterable<Uint8Array> };
  options?: Pick<RunOptions, "allowFailure" | "readOnly" | "timeoutSeconds">;
  retry?: Retry;
}

/** `attempts` tries, each after `before` (and a growing pause); all failed: `otherwise`, else the error. */
export interface Retry {
  attempts: number;
  before: readonly CommandEntry[];
  pauseMs: number;
  otherwise?: readonly CommandEntry[];
}

/** An in-process write: sectors of a device or a file, by a small named function. */
export interface WriteEntry {
  kind: "write";
  /** The device or file written. */
  target: Arg;
  /** What goes there: "sectors 0+1: boot sector (staged boot)", "copied from …, SHA-256 verified". */
  what: string;
  skipIf?: Condition;
  /** The read-only commands it asks for what it writes (the LVM UUIDs a boot menu names). */
  asks?: readonly (readonly Arg[])[];
  perform(ctx: StepContext): void | Promise<void>;
}

/** Reads and judges (a typed error when the judgement fails); writes nothing. */
export interface CheckEntry {
  kind: "check";
  says: string;
  asks?: readonly (readonly Arg[])[];
  verify(ctx: StepContext): void | Promise<void>;
}

export interface ChoiceEntry {
  kind: "choice";
  if: Condition;
  then: readonly Entry[];
  else: readonly Entry[];
}

/** The same entries for each value of a run-time list (the kernels found in the new root). */
export interface EachEntry {
  kind: "each";
  over: Later<string[]>;
  body(value: string): readonly Entry[];
}

export function command(argv: readonly Arg[], extra: Omit<CommandEntry, "kind" | "argv"> = {}): CommandEntry {
  return { kind: "command", argv, ...extra };
}

/** A mount, skipped when its target is mounted already (steps can be re-run). */
export function mount(argv: readonly string[], options?: CommandEntry["options"]): CommandEntry {
  const target = argv.at(-1)!;
  return command(argv, { mountpoint: target, skipIf: mountedAlready(target), ...(options ? { options } : {}) });
}

export function write(target: Arg, what: string, perform: WriteEntry["perform"], skipIf?: Condition, asks?: WriteEntry["asks"]): WriteEntry {
  return { kind: "write", target, what, perform, ...(skipIf ? { skipIf } : {}), ...(asks ? { asks } : {}) };
}

export function check(says: string, verify: CheckEntry["verify"], asks?: CheckEntry["asks"]): CheckEntry {
  return { kind: "check", says, verify, ...(asks ? { asks } : {}) };
}

export function choice(condition: Condition, then: readonly Entry[], otherwise: readonly Entry[]): ChoiceEntry {
  return { kind: "choice", if: condition, then, else: otherwise };
}

export function each(over: Later<string[]>, body: EachEntry["body"]): EachEntry {
  return { kind: "each", over, body };
}

export function later<T = string | string[]>(placeholder: string, resolve: Later<T>["resolve"], asks?: Later["asks"]): Later<T> {
  return { placeholder, resolve, ...(asks ? { asks } : {}) };
}

export function mountedAlready(target: string): Condition {
  return { says: `${target} is mounted already`, holds: () => mountedTargets().has(target) };
}

export function isLater(arg: Arg): arg is Later {
  return typeof arg !== "string";
}

/** The argv as the plan shows it: run-time values as their placeholders. */
export function plannedArgv(argv: readonly Arg[]): string[] {
  return argv.map((arg) => (isLater(arg) ? arg.placeholder : arg));
}

/** Every command the entries may run, as planned (probes, retries and both sides of a choice included): for the tool check. */
export function plannedCommands(entries: readonly Entry[]): string[][] {
  const asked = (condition?: Condition) => (condition?.asks ?? []).map(plannedArgv);
  return entries.flatMap((entry): string[][] => {
    switch (entry.kind) {
      case "command":
        return [
          ...asked(entry.skipIf),
          ...entry.argv.flatMap((arg) => (isLater(arg) ? (arg.asks ?? []).map(plannedArgv) : [])),
          ...plannedCommands(entry.retry?.before ?? []),
          plannedArgv(entry.argv),
          ...plannedCommands(entry.retry?.otherwise ?? []),
        ];
      case "write":
        return [...asked(entry.skipIf), ...(entry.asks ?? []).map(plannedArgv)];
      case "check":
        return (entry.asks ?? []).map(plannedArgv);
      case "choice":
        return [...asked(entry.if), ...plannedCommands(entry.then), ...plannedCommands(entry.else)];
      case "each":
        return plannedCommands(entry.body(entry.over.placeholder));
    }
  });
}
