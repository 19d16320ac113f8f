import { chrootBindCommands } from "../disk/mounts.ts";
import type { Journal } from "../journal/journal.ts";
import { storeMountCommand } from "../resume/store.ts";
import { command, type Entry, mount, mountedAlready, plannedCommands } from "./entry.ts";
import { MIGRATION_STEPS } from "./index.ts";
import { targetMountCommands } from "./mount-target.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/**
 * A step as the migration runs it, the same for every step: the resume store mounted while it is
 * in use, the mounts the step requires, its own entries, and for a destructive step a sync before
 * the journal records it done ("done" is fsynced; the step's own writes may still sit in the page
 * cache: fault injection found 1925 empty files in the new root after a cut right after
 * extract-rootfs). Empty when the step does not apply.
 */
export function wholeStep(step: Step, ctx: PlanContext, steps: readonly Step[] = MIGRATION_STEPS): Entry[] {
  if (applies(step, ctx) !== true) return [];
  return [
    ...(storeInUseBefore(step, steps) && ctx.plan.resume ? [storeMount(ctx)] : []),
    ...requirementMounts(step, ctx),
    ...step.entries(ctx),
    ...(step.destructive ? [command(["sync"])] : []),
  ];
}

export function applies(step: Step, ctx: PlanContext): true | string {
  return step.applies?.(ctx) ?? true;
}

function requirementMounts(step: Step, ctx: PlanContext): Entry[] {
  const requires = step.requires ?? [];
  if (requires.length === 0) return [];
  return [...targetMountCommands(ctx), ...(requires.includes("chroot") ? chrootBindCommands(ctx.paths.targetRoot) : [])].map((argv) => mount(argv));
}

/** After the step that persists the store, up to the one that removes it. */
function storeInUseBefore(step: Step, steps: readonly Step[]): boolean {
  const at = steps.indexOf(step);
  const persists = steps.findIndex((s) => s.resumeStore === "persists");
  const removes = steps.findIndex((s) => s.resumeStore === "removes");
  return persists >= 0 && at > persists && (removes < 0 || at <= removes);
}

/** Before a step the store is mounted again when the journal has it in use (a resume after a reboot finds it read-only or unmounted). */
function storeMount(ctx: PlanContext): Entry {
  const argv = storeMountCommand(ctx);
  const mounted = mountedAlready(argv.at(-1)!);
  return {
    ...mount(argv),
    skipIf: {
      says: `the journal has the store not in use (not persisted yet, or removed), or ${mounted.says}`,
      holds: (run: StepContext) => !run.journal || !storeInUse(run.journal) || mounted.holds(run),
    },
  };
}

/** The journal has the store filled and not yet removed. */
export function storeInUse(journal: Journal, steps: readonly Step[] = MIGRATION_STEPS): boolean {
  const outcome = (role: Step["resumeStore"]) => {
    const step = steps.find((s) => s.resumeStore === role);
    return step ? journal.latest(step.name)?.outcome : undefined;
  };
  return outcome("persists") === "done" && outcome("removes") !== "done";
}

/** Every command a migration of this plan may run, as planned: for the tiny system's tool check. */
export function plannedMigrationCommands(ctx: PlanContext, steps: readonly Step[] = MIGRATION_STEPS): string[][] {
  return steps.flatMap((step) => plannedCommands(wholeStep(step, ctx, steps)));
}
