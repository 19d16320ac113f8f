import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { command, write } from "./entry.ts";
import { inChroot, type PlanContext, type Step } from "./step.ts";

/**
 * The VG was made in the tiny system, so its metadata backup lives in the tiny system's RAM.
 * Write it into the new root, and register the PV where the target uses an LVM devices file
 * (EL9 does: without the entry, the new system would not see its own root PV).
 */
export const writeLvmMetadata: Step = {
  name: "write-lvm-metadata",
  summary: "write the volume group's metadata backup (and devices file entry) into the new root",
  destructive: true,
  requires: ["target", "chroot"],
  entries: (ctx: PlanContext) => {
    const { vg, pv } = ctx.plan.lvm;
    const backupDir = join(ctx.paths.targetRoot, "etc/lvm/backup");
    const devicesFile = join(ctx.paths.targetRoot, "etc/lvm/devices");
    return [
      write(backupDir, "the directory, when missing", () => void mkdirSync(backupDir, { recursive: true })),
      command(["lvm", "vgcfgbackup", "--file", join(backupDir, vg), vg]),
      command(inChroot(ctx, ["lvmdevices", "--yes", "--adddev", pv]), {
        skipIf: { says: `the new root uses no LVM devices file (${devicesFile} absent)`, holds: () => !existsSync(devicesFile) },
      }),
    ];
  },
};
