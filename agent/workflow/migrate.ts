import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { detectDistro } from "../distro/adapter.ts";
import { chrootBindCommands } from "../disk/mounts.ts";
import { StepFailedError, exitCodeOf } from "../errors/errors.ts";
import type { Journal } from "../journal/journal.ts";
import { MIGRATION_STEPS } from "../steps/index.ts";
import { extractRootfs } from "../steps/extract-rootfs.ts";
import { targetMountCommands } from "../steps/mount-target.ts";
import { type PlanContext, type Requirement, runCommands, type Step, type StepContext } from "../steps/step.ts";
import { doneSteps, midMigrationHint } from "./disk-state.ts";
import { reconcileResumeStore } from "./resume-store.ts";
import { renameDeep } from "./target-disk.ts";

/**
 * Runs the steps in order, skipping those the journal records as done with the same inputs:
 * a rerun resumes at the first unfinished step.
 */
export async function runMigration(ctx: StepContext, journal: Journal, steps: readonly Step[] = MIGRATION_STEPS): Promise<void> {
  for (const step of steps) {
    const digest = inputsDigest(ctx, step);
    if (journal.isDone(step.name, digest)) {
      ctx.log.info(`${step.name}: already done, skipping`);
      continue;
    }
    await runStep(ctx, journal, step, digest);
  }
  journal.setResult({ outcome: "migrated", at: new Date().toISOString() });
}

export async function runStep(ctx: StepContext, journal: Journal, step: Step, digest = inputsDigest(ctx, step)): Promise<void> {
  const log = ctx.log.child({ step: step.name });
  // After persist-for-resume, the store is mounted and the journal saved there before the step begins.
  await reconcileResumeStore(ctx, journal, { mount: true });
  const entry = journal.begin(step.name, digest);
  log.info(`${step.summary}${step === firstDestructive() ? " — POINT OF NO RETURN" : ""}`);
  const startedAt = performance.now();
  try {
    for (const requirement of step.requires ?? []) await ensureRequirement(ctx, requirement);
    if (rootIsExtracted(step)) refreshDistro(ctx);
    await step.run({ ...ctx, log });
    // "done" in the journal is fsynced; the step's own writes (tar, dracut, grub-mkconfig…) may
    // still sit in the page cache. Flush them first, or a power cut right after "done" loses them
    // while the resumed run skips the step (fault injection: 1925 empty files in the new root
    // after a cut right after extract-rootfs; result.json missing after one after record-result).
    if (step.destructive) await ctx.run.run(["sync"]);
    if (rootIsExtracted(step) || step.name === extractRootfs.name) refreshDistro(ctx);
    await reconcileResumeStore(ctx, journal, { mount: false });
    attachJournalToTarget(ctx, journal);
    journal.finish(entry, "done");
    log.info(`done in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  } catch (error) {
    const failure = new StepFailedError(step.name, error, isAfterPointOfNoReturn(step) ? midMigrationHint(step.name, ctx, doneSteps(journal)) : undefined);
    const exitCode = exitCodeOf(error);
    journal.finish(entry, "failed", { message: failure.message, exitCode, hint: failure.hint });
    journal.setResult({ outcome: "failed", at: new Date().toISOString(), step: step.name, message: failure.message, exitCode });
    throw failure;
  }
}

export function inputsDigest(ctx: Pick<PlanContext, "manifest" | "plan">, step: Step): string {
  const { manifest, plan } = ctx;
  // Under one name for the disk: a resume that finds it renamed (sda → sdb) must skip what is done.
  const planned = renameDeep({ disk: plan.disk, partitions: plan.partitions, lvm: plan.lvm, filesystems: plan.filesystems }, plan.disk.path, "/dev/target-disk");
  const inputs = { step: step.name, manifest, ...planned };
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}

function firstDestructive(): Step | undefined {
  return MIGRATION_STEPS.find((step) => step.destructive);
}

/** The first destructive step's first write is the point of no return: it and every later step fail past it. */
function isAfterPointOfNoReturn(step: Step): boolean {
  const first = firstDestructive();
  const at = (name: string) => MIGRATION_STEPS.findIndex((s) => s.name === name);
  return first !== undefined && at(step.name) >= at(first.name);
}

async function ensureRequirement(ctx: StepContext, requirement: Requirement): Promise<void> {
  await runCommands(ctx, targetMountCommands(ctx));
  if (requirement === "chroot") await runCommands(ctx, chrootBindCommands(ctx.paths.targetRoot));
}

/**
 * Steps after extract-rootfs find a complete new root. Before it (a resume after a power cut in
 * the middle of extraction) the root may hold a truncated os-release: never detect from that.
 */
function rootIsExtracted(step: Step): boolean {
  return MIGRATION_STEPS.indexOf(step) > MIGRATION_STEPS.findIndex((s) => s.name === extractRootfs.name);
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
