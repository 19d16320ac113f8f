import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clearNextEntry } from "../bootloader/grubenv.ts";
import { removeTinySystemFromBoot } from "../bootloader/tiny-boot-files.ts";
import { ensureMounted } from "../disk/mounts.ts";
import { parseFstab } from "../disk/fstab.ts";
import type { Journal } from "../journal/journal.ts";
import { MIGRATION_STEPS } from "../steps/index.ts";
import type { StepContext } from "../steps/step.ts";
import type { RootCandidate } from "../machine/machine.ts";

/** Written when the old system is known intact, so the tiny system's wrapper reboots into it. */
export const OLD_SYSTEM_INTACT_MARKER = "old-system-intact";

export function pointOfNoReturnPassed(journal: Journal): boolean {
  return firstDestructiveStep(journal) !== undefined;
}

/** The first destructive step the journal records (started, whatever its outcome): the point of no return. */
export function firstDestructiveStep(journal: Journal): string | undefined {
  const destructive = new Set(MIGRATION_STEPS.filter((step) => step.destructive).map((step) => step.name));
  return journal.entries.find((entry) => destructive.has(entry.step))?.step;
}

/**
 * A failure before the point of no return: leave the journal and log on the old root, where
 * `va-agent status` finds them, make sure GRUB boots the old default entry next, take the tiny
 * system off the old /boot, and mark it safe to reboot into the old system. Nothing was written to
 * the disk, so the box hands back even when the old root is unknown (the probe failed) or cannot be
 * mounted: GRUB's one-time entry is spent, only the journal and log cannot be kept.
 */
export async function handBackToOldSystem(env: Pick<StepContext, "run" | "log" | "paths">, oldRoot: Pick<RootCandidate, "device" | "fstype"> | undefined, journal: Journal): Promise<void> {
  try {
    if (!oldRoot) throw new Error("the probe did not find it");
    await saveOnOldRoot(env, oldRoot, journal);
    env.log.info("the old system is intact; its journal and log are in /var/lib/va-agent and /var/log/va-agent");
  } catch (error) {
    env.log.warn(
      `the old system is intact, but its root could not be mounted (${(error as Error).message}): the journal and log stay in this tiny system (${env.paths.logFile}) and are lost at the reboot. ` +
        "GRUB spent its one-time entry, so the reboot boots the old default entry (where GRUB cannot clear next_entry itself, /boot on xfs or LVM, the migration entry comes up again; `va-agent stage --undo` on the old system disarms it).",
    );
  }
  writeFileSync(join(env.paths.workDir, OLD_SYSTEM_INTACT_MARKER), "");
}

async function saveOnOldRoot(ctx: Pick<StepContext, "run" | "log" | "paths">, old: Pick<RootCandidate, "device" | "fstype">, journal: Journal): Promise<void> {
  const root = ctx.paths.oldRootMount;
  await ctx.run.run(["umount", root], { allowFailure: true });
  await ensureMounted(ctx.run, ["mount", "-o", "rw", "-t", old.fstype, old.device, root]);
  try {
    journal.attach(join(root, ctx.paths.targetStateDir, "journal.json"));
    mkdirSync(join(root, ctx.paths.targetLogDir), { recursive: true });
    if (ctx.log.file && existsSync(ctx.log.file)) copyFileSync(ctx.log.file, join(root, ctx.paths.targetLogDir, "tiny-system.log"));
    await restoreOldBoot(ctx, root);
  } finally {
    await ctx.run.run(["umount", root], { allowFailure: true });
    await ctx.run.run(["sync"]);
  }
}

/**
 * GRUB normally clears next_entry itself; where it cannot write its environment (e.g. xfs), we do.
 * The tiny kernel, initramfs and their custom.cfg entry go here, with the old /boot mounted: the
 * wrapper reboots into the old system next, and nothing runs there to clean up after us (a power
 * cut or a panic before this point leaves them for `va-agent stage --undo`; in their own directory
 * they never become a menu entry of the old system).
 */
async function restoreOldBoot(ctx: Pick<StepContext, "run" | "log" | "paths">, oldRoot: string): Promise<void> {
  const bootEntry = parseFstab(readFileSync(join(oldRoot, "etc/fstab"), "utf8")).find((entry) => entry.mountpoint === "/boot");
  const bootMount = join(ctx.paths.workDir, "old-boot");
  let bootDir = join(oldRoot, "boot");
  if (bootEntry) {
    const device = await resolveSpec(ctx, bootEntry.spec);
    await ensureMounted(ctx.run, ["mount", "-o", "rw", device, bootMount]);
    bootDir = bootMount;
  }
  try {
    for (const grubenv of ["grub/grubenv", "grub2/grubenv"]) clearNextEntry(join(bootDir, grubenv));
    removeTinySystem(ctx, bootDir);
  } finally {
    if (bootEntry) await ctx.run.run(["umount", bootMount], { allowFailure: true });
  }
}

/** Best effort: the old system boots as well with the files left (nothing lists them), so a failure here must not stop the hand-back. */
function removeTinySystem(ctx: Pick<StepContext, "log">, bootDir: string): void {
  try {
    const removed = removeTinySystemFromBoot(bootDir);
    if (removed.length > 0) ctx.log.info(`removed the tiny system from the old /boot: ${removed.join(", ")}`);
  } catch (error) {
    ctx.log.warn(`could not remove the tiny system from the old /boot (${(error as Error).message}); \`va-agent stage --undo\` on the old system removes it`);
  }
}

async function resolveSpec(ctx: Pick<StepContext, "run">, spec: string): Promise<string> {
  if (!spec.includes("=")) return spec;
  const result = await ctx.run.run(["blkid", "--match-token", spec, "--output", "device"], { readOnly: true });
  return result.stdout.trim().split("\n")[0]!;
}
