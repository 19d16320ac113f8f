import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { inChroot, type PlanContext, runCommands, type Step } from "./step.ts";

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
  commands: (ctx) => lvmMetadataCommands(ctx, usesDevicesFile(ctx)),
  async run(ctx) {
    mkdirSync(join(ctx.paths.targetRoot, "etc/lvm/backup"), { recursive: true });
    await runCommands(ctx, lvmMetadataCommands(ctx, usesDevicesFile(ctx)));
  },
};

function lvmMetadataCommands(ctx: PlanContext, devicesFile: boolean): string[][] {
  const { vg, pv } = ctx.plan.lvm;
  const commands = [["lvm", "vgcfgbackup", "--file", join(ctx.paths.targetRoot, "etc/lvm/backup", vg), vg]];
  if (devicesFile) commands.push(inChroot(ctx, ["lvmdevices", "--yes", "--adddev", pv]));
  return commands;
}

function usesDevicesFile(ctx: PlanContext): boolean {
  return existsSync(join(ctx.paths.targetRoot, "etc/lvm/devices"));
}
