import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { PlanContext, Step, StepContext } from "./step.ts";
import { STAGED_BOOT_SECTOR_FILE, stagedBootOf } from "./write-staged-boot.ts";

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
  commands: (ctx: PlanContext) => {
    const old = ctx.plan.oldSystem;
    return [
      ...old.volumeGroups.flatMap((vg) => [
        ["lvm", "vgchange", "--activate", "n", vg],
        ["lvm", "vgremove", "--force", "--force", "--yes", vg],
      ]),
      ...old.partitions.map((p) => ["wipefs", "--all", "--force", p.path]),
      // The disk's own signatures (the MBR's 0x55AA among them) go too, unless the staged boot code is in sector 0.
      ...(stagedBootOf(ctx) ? [] : [["wipefs", "--all", "--force", ctx.plan.disk.path]]),
    ];
  },
  async run(ctx) {
    await switchBootSector(ctx);
    // Asked once per VG, before its vgchange: a staged-boot resume finds the old VGs gone.
    const present = new Map<string, boolean>();
    for (const argv of wipeOldSystem.commands(ctx)) {
      const vg = argv[1] === "vgchange" || argv[1] === "vgremove" ? argv.at(-1)! : undefined;
      if (vg && !present.has(vg)) present.set(vg, await volumeGroupExists(ctx, vg));
      if (vg && !present.get(vg)) continue;
      // A staged-boot resume finds the new partitions: an old partition beyond their count is gone.
      if (argv[0] === "wipefs" && !ctx.run.dryRun && !existsSync(argv.at(-1)!)) continue;
      await ctx.run.run(argv);
    }
  },
};

async function volumeGroupExists(ctx: StepContext, vg: string): Promise<boolean> {
  const result = await ctx.run.run(["lvm", "vgs", "--noheadings", "--options", "vg_name", vg], { readOnly: true, allowFailure: true });
  return result.status === 0;
}

async function switchBootSector(ctx: StepContext): Promise<void> {
  const file = join(ctx.paths.workDir, STAGED_BOOT_SECTOR_FILE);
  if (!existsSync(file)) return;
  await ctx.run.writeSectors(ctx.plan.disk.path, 0, readFileSync(file), "boot sector (staged boot)");
  ctx.log.info(`boot sector of ${ctx.plan.disk.path} now starts the tiny system from the staged files`);
}
