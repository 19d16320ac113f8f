import { existsSync } from "node:fs";
import { join } from "node:path";
import { detectDistro } from "../distro/adapter.ts";
import { StepFailedError, exitCodeOf } from "../errors/errors.ts";
import type { Journal } from "../journal/journal.ts";
import { MIGRATION_STEPS } from "../steps/index.ts";
import { type Performed, perform } from "../steps/perform.ts";
import type { Step, StepContext } from "../steps/step.ts";
import { applies as appliesTo, wholeStep } from "../steps/whole-step.ts";
import { doneSteps, midMigrationHint } from "./disk-state.ts";
import { readStoreMeta, storeDir, storeJournalPath } from "../resume/store.ts";
import { inputsDigest } from "../resume/step-inputs.ts";

/**
 * Runs the steps in order, skipping those the journal records as done with the same inputs:
 * a rerun resumes at the first unfinished step.
 */
/** What the interpreter did for each step, in order: for tests that hold a run against its plan. */
export type StepObserver = (step: Step, performed: Performed[]) => void;

export async function runMigration(ctx: StepContext, journal: Journal, steps: readonly Step[] = MIGRATION_STEPS, observe?: StepObserver): Promise<void> {
  for (const step of steps) {
    const digest = inputsDigest(ctx, step);
    if (journal.isDone(step.name, digest)) {
      ctx.log.info(`${step.name}: already done, skipping`);
      continue;
    }
    await runStep(ctx, journal, step, digest, steps, observe);
  }
  journal.setResult({ outcome: "migrated", at: new Date().toISOString() });
}

export async function runStep(
  ctx: StepContext,
  journal: Journal,
  step: Step,
  digest = inputsDigest(ctx, step),
  steps: readonly Step[] = MIGRATION_STEPS,
  observe?: StepObserver,
): Promise<void> {
  const log = ctx.log.child({ step: step.name });
  // A resume after a reboot: prepare mounted the store; the step's start is saved there too.
  attachJournalToStore(ctx, journal, steps);
  const entry = journal.begin(step.name, digest);
  log.info(`${step.summary}${step === firstDestructive(steps) ? " — POINT OF NO RETURN" : ""}`);
  const startedAt = performance.now();
  try {
    if (rootIsExtracted(step, steps)) refreshDistro(ctx);
    const applies = appliesTo(step, ctx);
    if (applies !== true) log.info(`skipped: ${applies}`);
    const performed = applies === true ? await perform({ ...ctx, log, journal }, wholeStep(step, ctx, steps)) : [];
    observe?.(step, performed);
    if (rootIsExtracted(step, steps) || step.makesNewRoot) refreshDistro(ctx);
    attachJournalToStore(ctx, journal, steps);
    attachJournalToTarget(ctx, journal);
    journal.finish(entry, "done");
    log.info(`done in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  } catch (error) {
    const failure = new StepFailedError(step.name, error, isAfterPointOfNoReturn(step, steps) ? midMigrationHint(step.name, ctx, doneSteps(journal)) : undefined);
    const exitCode = exitCodeOf(error);
    journal.finish(entry, "failed", { message: failure.message, exitCode, hint: failure.hint });
    journal.setResult({ outcome: "failed", at: new Date().toISOString(), step: step.name, message: failure.message, exitCode });
    throw failure;
  }
}

function firstDestructive(steps: readonly Step[]): Step | undefined {
  return steps.find((step) => step.destructive);
}

/** The first destructive step's first write is the point of no return: it and every later step fail past it. */
function isAfterPointOfNoReturn(step: Step, steps: readonly Step[]): boolean {
  const first = steps.findIndex((s) => s.destructive);
  return first >= 0 && steps.indexOf(step) >= first;
}

/**
 * Steps after the one that makes the new root find it complete. Before it (a resume after a power
 * cut in the middle of extraction) the root may hold a truncated os-release: never detect from that.
 */
function rootIsExtracted(step: Step, steps: readonly Step[]): boolean {
  const maker = steps.findIndex((s) => s.makesNewRoot);
  return maker >= 0 && steps.indexOf(step) > maker;
}

/**
 * Keeps the journal's copy in the store in step with the store's life, after every step: while the
 * store is committed and not removed the journal is saved there too; once it is gone, no longer.
 */
function attachJournalToStore(ctx: StepContext, journal: Journal, steps: readonly Step[]): void {
  if (!ctx.plan.resume) return;
  const path = storeJournalPath(ctx.paths);
  const removed = journal.latest(steps.find((s) => s.resumeStore === "removes")?.name ?? "")?.outcome === "done";
  if (!removed && readStoreMeta(storeDir(ctx.paths))) journal.attach(path);
  else journal.detach(path);
}

/** The distribution adapter follows the new root: known once extract-rootfs has completed. */
function refreshDistro(ctx: StepContext): void {
  if (ctx.distro || !existsSync(join(ctx.paths.targetRoot, "etc/os-release"))) return;
  ctx.distro = detectDistro(ctx.paths.targetRoot);
  ctx.log.info(`new root is ${ctx.distro.prettyName} (${ctx.distro.family} adapter)`);
}

function attachJournalToTarget(ctx: StepContext, journal: Journal): void {
  const stateDir = join(ctx.paths.targetRoot, ctx.paths.targetStateDir);
  if (existsSync(join(ctx.paths.targetRoot, "etc/os-release"))) journal.attach(join(stateDir, "journal.json"));
}
