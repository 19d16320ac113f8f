import { type Entry, plannedCommands, write } from "../../agent/steps/entry.ts";
import { perform } from "../../agent/steps/perform.ts";
import type { PlanContext, Step, StepContext } from "../../agent/steps/step.ts";
import { applies } from "../../agent/steps/whole-step.ts";

/** The commands a step's own entries may run, as planned (without the mounts and sync the migration adds). */
export function commandsOf(step: Step, ctx: PlanContext): string[][] {
  return applies(step, ctx) === true ? plannedCommands(step.entries(ctx)) : [];
}

/** A step's own entries through the interpreter, as `va-agent step` would run them with the mounts in place. */
export async function runAlone(step: Step, ctx: StepContext): Promise<void> {
  if (applies(step, ctx) === true) await perform(ctx, step.entries(ctx));
}

/** The step with test code run before (or after) its own entries: a power cut, a sabotage, a look at the disk. */
export function withHook(step: Step, hook: (ctx: StepContext) => void | Promise<void>, where: "before" | "after" = "before"): Step {
  return {
    ...step,
    // The hook runs even where the step itself has nothing to do.
    applies: () => true,
    entries: (ctx) => {
      const entry: Entry = write("<test>", "test hook", hook);
      const own = applies(step, ctx) === true ? step.entries(ctx) : [];
      return where === "before" ? [entry, ...own] : [...own, entry];
    },
  };
}
