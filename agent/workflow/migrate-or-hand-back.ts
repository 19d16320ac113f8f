import { exitCodeOf, StepFailedError } from "../errors/errors.ts";
import { Journal } from "../journal/journal.ts";
import type { StepContext } from "../steps/step.ts";
import { handBackToOldSystem, pointOfNoReturnPassed } from "./hand-back.ts";
import { runMigration } from "./migrate.ts";
import type { StagedTrust } from "../manifest/staged-trust.ts";
import { prepare, type PrepareProgress } from "./prepare.ts";

/** Where a failure leaves the box: before the point of no return is when it hands back to the old system. */
export interface FailurePoint {
  /** prepare was resuming (staged map, saved plan, store): past the point of no return. */
  resuming: boolean;
  /** The journal, once prepare has given one: a destructive step started means past it. */
  journal?: Journal;
}

/** The one rule: a failure hands back unless prepare was resuming or the journal shows a destructive step. */
export function failedBeforePointOfNoReturn(point: FailurePoint): boolean {
  return !point.resuming && !(point.journal && pointOfNoReturnPassed(point.journal));
}

/**
 * `va-agent migrate`: prepare, check the tiny system's tools, run the steps. Any failure before the
 * point of no return, from prepare (probe, plan refusal, manifest), the tool check or a step,
 * records the failure and hands back to the old system.
 */
export async function migrateOrHandBack(
  env: Pick<StepContext, "run" | "log" | "paths">,
  staged: { dir: string; trust: StagedTrust },
  checkTools: (ctx: StepContext) => void,
): Promise<StepContext> {
  const progress: PrepareProgress = { resuming: false };
  let ctx: StepContext | undefined;
  let journal: Journal | undefined;
  let phase = "prepare";
  try {
    const { manifest, plan } = await prepare(env.run, env.log, env.paths, staged.dir, staged.trust, progress);
    // After prepare: when resuming after a reboot, it brings the journal back from the resume store.
    journal = Journal.open(env.paths.journalFile);
    ctx = { ...env, manifest, plan };
    phase = "tool-check";
    checkTools(ctx);
    env.log.info(`migrating ${plan.disk.path}; log: ${env.paths.logFile}`);
    await runMigration(ctx, journal);
    return ctx;
  } catch (error) {
    if (failedBeforePointOfNoReturn({ resuming: progress.resuming, journal })) {
      const record = journal ?? Journal.open(env.paths.journalFile);
      // A step failure is recorded by runStep; a failure before the steps is recorded here.
      if (!(error instanceof StepFailedError)) {
        record.setResult({ outcome: "failed", at: new Date().toISOString(), step: phase, message: (error as Error).message, exitCode: exitCodeOf(error) });
      }
      const oldRoot = ctx?.plan.oldSystem.root ?? progress.oldRoot;
      await handBackToOldSystem(env, oldRoot, record).catch((e) => env.log.error(`could not hand back to the old system: ${(e as Error).message}`));
    }
    throw error;
  }
}
