import { type PvGeometry, extentsAvoiding } from "../lvm/extents-avoiding.ts";
import { defaultGeometry, type StagedBoot } from "../plan/staged-boot.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";
import { runCommands } from "./step.ts";
import { stagedBootOf } from "./write-staged-boot.ts";

/**
 * Creates the new volume group and its logical volumes. With a staged boot (docs/RESUME.md,
 * window A) the resume store's LV is created first, on extents that avoid the staged files'
 * sectors, and the other LVs are neither zeroed nor wiped: until the store is committed, the
 * staged files under them are still what a resumed run reads. Their filesystems come later
 * (make-filesystems), and mkfs overwrites what is there.
 */
export const createVolumes: Step = {
  name: "create-volumes",
  summary: "create the physical volume, the volume group and the logical volumes (the resume store first)",
  destructive: true,
  commands: (ctx: PlanContext) => [...volumeGroupCommands(ctx), ...logicalVolumeCommands(ctx, plannedGeometry(ctx))],
  async run(ctx) {
    const existing = await ctx.run.run(["lvm", "vgs", "--noheadings", "--options", "vg_name", ctx.plan.lvm.vg], {
      readOnly: true,
      allowFailure: true,
    });
    if (existing.status === 0) {
      ctx.log.info(`volume group ${ctx.plan.lvm.vg} exists from an interrupted run; recreating it`);
      await ctx.run.run(["lvm", "vgremove", "--force", "--force", "--yes", ctx.plan.lvm.vg]);
    }
    await runCommands(ctx, volumeGroupCommands(ctx));
    await runCommands(ctx, logicalVolumeCommands(ctx, stagedBootOf(ctx) && !ctx.run.dryRun ? await probedGeometry(ctx) : plannedGeometry(ctx)));
  },
};

function volumeGroupCommands(ctx: PlanContext): string[][] {
  const { vg, pv } = ctx.plan.lvm;
  return [
    ["lvm", "pvcreate", "--force", "--force", "--yes", "--dataalignment", "1m", pv],
    ["lvm", "vgcreate", "--yes", "--physicalextentsize", "4m", vg, pv],
  ];
}

function logicalVolumeCommands(ctx: PlanContext, geometry: PvGeometry): string[][] {
  const { vg, pv, volumes } = ctx.plan.lvm;
  const staged = stagedBootOf(ctx);
  const storeLv = ctx.plan.resume?.lv;
  const ordered = staged ? [...volumes.filter((lv) => lv.name === storeLv), ...volumes.filter((lv) => lv.name !== storeLv)] : volumes;
  const commands = ordered.map((lv) => {
    if (staged && lv.name === storeLv) {
      return ["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", lv.name, "--extents", `${staged.storeExtents}`, vg, ...storeExtentArgs(pv, geometry, staged)];
    }
    const clear = staged ? "n" : "y";
    return ["lvm", "lvcreate", "--yes", "--wipesignatures", clear, "--zero", clear, "--name", lv.name, ...lv.sizeArgs, vg];
  });
  return [...commands, ["udevadm", "settle", "--timeout=60"]];
}

function storeExtentArgs(pv: string, geometry: PvGeometry, staged: StagedBoot): string[] {
  const ranges = extentsAvoiding(geometry, staged.keep, staged.storeExtents);
  if (!ranges) throw new Error(`${pv} has no ${staged.storeExtents} extents clear of the staged files`);
  return ranges.map(([first, last]) => `${pv}:${first}-${last}`);
}

function plannedGeometry(ctx: PlanContext): PvGeometry {
  const layout = ctx.plan.layout;
  const lvmPartition = Number(ctx.manifest.target.lvmPartition);
  const geometry = defaultGeometry({ layout, lvmPartition });
  const grown = ctx.plan.growLvmPartition;
  if (!grown) return geometry;
  const start = layout.partitions.find((p) => p.number === lvmPartition)!.firstLba;
  return { ...geometry, extentCount: Math.floor((grown.toLastLba - start + 1 - geometry.peStart) / geometry.extentSectors) };
}

/** The PV's real geometry, from LVM itself: extent placement must not rest on assumed defaults. */
async function probedGeometry(ctx: StepContext): Promise<PvGeometry> {
  const { vg, pv } = ctx.plan.lvm;
  const pvs = await ctx.run.run(["lvm", "pvs", "--noheadings", "--nosuffix", "--units", "s", "--options", "pe_start,pv_pe_count", pv], { readOnly: true });
  const vgs = await ctx.run.run(["lvm", "vgs", "--noheadings", "--nosuffix", "--units", "s", "--options", "vg_extent_size", vg], { readOnly: true });
  const [peStart, extentCount] = pvs.stdout.trim().split(/\s+/).map(Number);
  const planned = plannedGeometry(ctx);
  const geometry = { pvStart: planned.pvStart, peStart: peStart!, extentSectors: Number(vgs.stdout.trim()), extentCount: extentCount! };
  if (geometry.peStart !== planned.peStart || geometry.extentSectors !== planned.extentSectors) {
    ctx.log.warn(`LVM placed extents differently than planned (pe_start ${geometry.peStart} s, extent ${geometry.extentSectors} s); the store's extents follow LVM`);
  }
  return geometry;
}
