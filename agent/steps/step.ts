import type { DistroAdapter } from "../distro/adapter.ts";
import type { Journal } from "../journal/journal.ts";
import type { Log } from "../log/logger.ts";
import type { Manifest } from "../manifest/manifest.ts";
import type { Paths } from "../paths.ts";
import type { MigrationPlan } from "../plan/plan.ts";
import type { Runner } from "../runner/runner.ts";
import type { Entry } from "./entry.ts";

/** What a step needs to say what it will do: pure data, no I/O. */
export interface PlanContext {
  manifest: Readonly<Manifest>;
  plan: MigrationPlan;
  paths: Paths;
  /** Known once the new root is extracted; before that, plans show both families' command names. */
  distro?: DistroAdapter;
}

export interface StepContext extends PlanContext {
  run: Runner;
  log: Log;
  /** The migration's journal, when the step runs inside one (whether the resume store is in use). */
  journal?: Journal;
  /** How a retry waits between attempts (default: the clock); tests record the waits instead. */
  pause?: (ms: number) => Promise<unknown>;
}

/** target: the new filesystems mounted; chroot: /proc, /sys, /dev, /run bound into the target too. */
export type Requirement = "target" | "chroot";

export interface Step {
  /** kebab-case verb-noun, the name `va-agent step NAME` takes. */
  name: string;
  summary: string;
  /** The first destructive step is the point of no return: before it, the old system is untouched. */
  destructive: boolean;
  /** Mounts that must be in place before the step runs (re-established when resuming after a reboot). */
  requires?: Requirement[];
  /** Files of the payload directory (in RAM) the step reads: a resume restores only what the remaining steps read. */
  reads?(manifest: Readonly<Manifest>): string[];
  /** The step that lays down the new root: from the next step on, the distribution adapter follows it. */
  makesNewRoot?: boolean;
  /** The step that fills the resume store, and the one that empties it: the store is mounted for the steps in between. */
  resumeStore?: "persists" | "removes";
  /** What a reboot boots once this step is done: the resume entry it arms, or the new system its boot loader starts. */
  armsBoot?: "resume-entry" | "new-system";
  /** true when the step has work on this plan; otherwise why not (the plan shows "skipped: …", the run does nothing). */
  applies?(ctx: PlanContext): true | string;
  /** Everything the step does, in order: `plan` renders these entries and the interpreter runs exactly them. */
  entries(ctx: PlanContext): Entry[];
}

export function inChroot(ctx: PlanContext, argv: readonly string[]): string[] {
  return ["chroot", ctx.paths.targetRoot, ...argv];
}
