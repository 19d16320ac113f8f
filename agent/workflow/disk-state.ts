import type { Journal } from "../journal/journal.ts";
import type { PlanContext } from "../steps/step.ts";
import { MIGRATION_STEPS } from "../steps/index.ts";

// Where the disk stands after the point of no return, for every error hint from then on: the old
// system cannot come back, so no hint may say it is unchanged or tell the operator to stage again.

const at = (name: string) => MIGRATION_STEPS.findIndex((step) => step.name === name);
const arming = (what: "resume-entry" | "new-system") => MIGRATION_STEPS.find((step) => step.armsBoot === what)!.name;
const POINT_OF_NO_RETURN = MIGRATION_STEPS.find((step) => step.destructive)!.name;

/** What the disk boots when the box is rebooted (or loses power) while `step` is unfinished: docs/RESUME.md's table. */
export function whatARebootBoots(step: string, ctx: Pick<PlanContext, "manifest" | "plan">): string {
  const i = at(step);
  const staged = "plan" in ctx.plan.stagedBoot;
  const resume = ctx.plan.resume && ctx.manifest.tinySystem ? `the resume entry, which goes on from the resume store on ${ctx.plan.resume.device}` : undefined;
  const noPath = (until: string) => `Do not reboot or power off: until ${until} is done this disk has no bootable path`;
  const bootloader = arming("new-system");
  const resumeBoot = arming("resume-entry");
  if (i > at(bootloader)) return "A reboot boots the new system (its boot loader is installed); what is left is bookkeeping";
  if (i === at(bootloader)) return resume ? `A reboot boots ${resume}, or the new system once grub-install has written the boot sector` : noPath(bootloader);
  if (i > at(resumeBoot)) return resume ? `A reboot boots ${resume}` : noPath(bootloader);
  if (!staged) return `${noPath(resume ? resumeBoot : bootloader)} (window A is open on this box: ${"openBecause" in ctx.plan.stagedBoot ? ctx.plan.stagedBoot.openBecause : ""})`;
  if (i === at(resumeBoot)) return "A reboot boots the staged boot code or the resume entry (whichever the boot sector holds by now); both go on with the migration";
  return "A reboot boots the staged boot code, which starts the migration over from the staged files' sectors";
}

export function doneSteps(journal: Journal): string[] {
  return MIGRATION_STEPS.map((step) => step.name).filter((name) => journal.latest(name)?.outcome === "done");
}

/** The truth about the disk when `step` failed after the point of no return, and how to go on. */
export function midMigrationHint(step: string, ctx: Pick<PlanContext, "manifest" | "plan">, done: readonly string[]): string {
  const kept = done.length === 0 ? "no step is done yet" : `${done.length} step(s) are done and kept (${done[0]} … ${done.at(-1)})`;
  return (
    `The disk ${ctx.plan.disk.path} is mid-migration: the point of no return (${POINT_OF_NO_RETURN}) is passed and the old system cannot boot again; ` +
    `${kept}, ${step} did not finish. ${whatARebootBoots(step, ctx)}. Fix the cause from this shell, then run \`va-agent migrate\`: it goes on at ${step}.`
  );
}
