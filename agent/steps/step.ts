import { ensureMounted } from "../disk/mounts.ts";
import type { DistroAdapter } from "../distro/adapter.ts";
import type { Log } from "../log/logger.ts";
import type { Manifest } from "../manifest/manifest.ts";
import type { Paths } from "../paths.ts";
import type { MigrationPlan } from "../plan/plan.ts";
import type { Runner } from "../runner/runner.ts";

/** What a step needs to say which commands it will run: pure data, no I/O. */
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
  /** The external commands the step runs, in order; `<…>` marks values only known at run time. */
  commands(ctx: PlanContext): string[][];
  run(ctx: StepContext): Promise<void>;
}

/** Runs a step's planned commands in order: the common case, where the plan is the whole step. */
export async function runPlannedCommands(step: Step, ctx: StepContext): Promise<void> {
  await runCommands(ctx, step.commands(ctx));
}

/** Mount commands are skipped when their target is already mounted, so steps can be re-run. */
export async function runCommands(ctx: StepContext, commands: string[][]): Promise<void> {
  for (const argv of commands) {
    if (argv[0] === "mount") await ensureMounted(ctx.run, argv);
    else await ctx.run.run(argv);
  }
}

export function inChroot(ctx: PlanContext, argv: string[]): string[] {
  return ["chroot", ctx.paths.targetRoot, ...argv];
}
