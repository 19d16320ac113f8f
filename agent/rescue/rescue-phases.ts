import { outline, outlineLines } from "../steps/outline.ts";
import { perform, type Performed } from "../steps/perform.ts";
import type { Entry } from "../steps/entry.ts";
import type { StepContext } from "../steps/step.ts";

/** A rescue command is phases of entries, like an install: the plan renders them, the run performs exactly them. */
export interface RescuePhase<C> {
  name: string;
  summary: string;
  entries(context: C): Entry[];
}

export interface PhaseRecord {
  phase: string;
  entries: Performed[];
}

/**
 * Runs the phases in order, each announced. `onFailure` gets the failed phase and the error, and
 * returns the error to throw (where the disk stands is the command's to say).
 */
export async function runRescuePhases<C>(phases: readonly RescuePhase<C>[], context: C, ctx: StepContext, onFailure: (phase: string, error: unknown) => unknown): Promise<PhaseRecord[]> {
  const performed: PhaseRecord[] = [];
  for (const [index, phase] of phases.entries()) {
    ctx.log.info(`[${index + 1}/${phases.length}] ${phase.name}: ${phase.summary}`, { phase: phase.name });
    try {
      performed.push({ phase: phase.name, entries: await perform(ctx, phase.entries(context)) });
    } catch (error) {
      throw onFailure(phase.name, error);
    }
  }
  return performed;
}

/** The phases as the plan prints them: a numbered head line each, its entries below ("nothing" for none). */
export function rescuePhaseLines<C>(phases: readonly RescuePhase<C>[], context: C): string[] {
  return phases.flatMap((phase, index) => {
    const entries = phase.entries(context);
    return [`${String(index + 1).padStart(2)}. ${phase.name}: ${phase.summary}`, ...(entries.length > 0 ? outlineLines(outline(entries), "      ") : ["      nothing"])];
  });
}
