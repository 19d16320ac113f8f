import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stagedBootOf } from "../resume/staged-boot.ts";
import { choice, command, type Condition, type Entry, write } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";
import { STAGED_BOOT_SECTOR_FILE } from "./write-staged-boot.ts";

/**
 * The point of no return. Its first write is one sector: the boot sector that starts the tiny
 * system from the staged files (prepared by write-staged-boot), so from here on a power cut boots
 * into a resume, not into nothing. Then the old volume groups are deactivated and removed and the
 * old PV signatures wiped, so no stale PV header can reappear where a new partition happens to
 * start. A staged-boot resume runs it again: what is gone already is skipped.
 */
export const wipeOldSystem: Step = {
  name: "wipe-old-system",
  summary: "switch the boot sector to the staged boot code, deactivate and remove the old volume groups, wipe old signatures",
  destructive: true,
  entries: (ctx: PlanContext): Entry[] => {
    const old = ctx.plan.oldSystem;
    const staged = stagedBootOf(ctx) !== undefined;
    return [
      ...(staged ? [switchBootSector(ctx)] : []),
      ...old.volumeGroups.map((vg) =>
        choice(volumeGroupExists(vg), [command(["lvm", "vgchange", "--activate", "n", vg]), command(["lvm", "vgremove", "--force", "--force", "--yes", vg])], []),
      ),
      ...old.partitions.map((p) => command(["wipefs", "--all", "--force", p.path], { skipIf: gone(p.path) })),
      // The disk's own signatures (the MBR's 0x55AA among them) go too, unless the staged boot code is in sector 0.
      ...(staged ? [] : [command(["wipefs", "--all", "--force", ctx.plan.disk.path])]),
    ];
  },
};

function switchBootSector(ctx: PlanContext): Entry {
  const file = join(ctx.paths.workDir, STAGED_BOOT_SECTOR_FILE);
  const disk = ctx.plan.disk.path;
  return write(
    disk,
    `sector 0: the boot sector that starts the tiny system from the staged files (${file})`,
    async (run: StepContext) => {
      await run.run.writeSectors(disk, 0, readFileSync(file), "boot sector (staged boot)");
      run.log.info(`boot sector of ${disk} now starts the tiny system from the staged files`);
    },
    { says: `write-staged-boot prepared no boot sector (${file} absent: the sectors before the first partition were in use)`, holds: () => !existsSync(file) },
  );
}

/** A staged-boot resume finds the old VGs gone. */
function volumeGroupExists(vg: string): Condition {
  const vgs = ["lvm", "vgs", "--noheadings", "--options", "vg_name", vg];
  return {
    says: `volume group ${vg} exists (a staged-boot resume finds it gone)`,
    asks: [vgs],
    holds: async (ctx) => (await ctx.run.run(vgs, { readOnly: true, allowFailure: true })).status === 0,
  };
}

/** A staged-boot resume finds the new partitions: an old partition beyond their count is gone. */
function gone(device: string): Condition {
  return { says: `${device} is gone`, holds: (ctx) => !ctx.run.dryRun && !existsSync(device) };
}
