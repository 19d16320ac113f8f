import { extentsAvoiding, type PvGeometry } from "../resume/extents.ts";
import { defaultGeometry, type StagedBoot, stagedBootOf } from "../resume/staged-boot.ts";
import { choice, command, type Condition, type Entry, later } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/**
 * Creates the new volume group and its logical volumes. With a staged boot (docs/RESUME.md,
 * window A) the resume store's LV is created first, on the extents the plan chose clear of the
 * staged files' sectors, and the other LVs are neither zeroed nor wiped: until the store is
 * committed, the staged files under them are still what a resumed run reads. Their filesystems
 * come later (make-filesystems), and mkfs overwrites what is there.
 */
export const createVolumes: Step = {
  name: "create-volumes",
  summary: "create the physical volume, the volume group and the logical volumes (the resume store first)",
  destructive: true,
  entries: (ctx: PlanContext): Entry[] => {
    const { vg, pv } = ctx.plan.lvm;
    return [
      choice(volumeGroupLeftOver(vg), [command(["lvm", "vgremove", "--force", "--force", "--yes", vg])], []),
      command(["lvm", "pvcreate", "--force", "--force", "--yes", "--dataalignment", "1m", pv]),
      command(["lvm", "vgcreate", "--yes", "--physicalextentsize", "4m", vg, pv]),
      ...logicalVolumeCommands(ctx).map((argv) => command(argv)),
      ...(ctx.plan.lvm.reserve ? [command(["lvm", "lvremove", "--yes", `${vg}/${ctx.plan.lvm.reserve.name}`])] : []),
      command(["udevadm", "settle", "--timeout=60"]),
    ];
  },
};

function volumeGroupLeftOver(vg: string): Condition {
  const vgs = ["lvm", "vgs", "--noheadings", "--options", "vg_name", vg];
  return {
    says: `volume group ${vg} exists from an interrupted run (then it is made again)`,
    asks: [vgs],
    holds: async (ctx) => (await ctx.run.run(vgs, { readOnly: true, allowFailure: true })).status === 0,
  };
}

/**
 * The snapshot reserve (manifest `snapshots.reserve`) is held by a placeholder LV made right before
 * the "rest" LV (which then takes all but the reserve) and removed after the last LV: never written,
 * so it is neither zeroed nor wiped.
 */
function logicalVolumeCommands(ctx: PlanContext) {
  const { vg, volumes, reserve } = ctx.plan.lvm;
  const staged = stagedBootOf(ctx);
  const storeLv = ctx.plan.resume?.lv;
  const ordered = staged ? [...volumes.filter((lv) => lv.name === storeLv), ...volumes.filter((lv) => lv.name !== storeLv)] : volumes;
  const rest = ordered.findIndex((lv) => lv.sizeArgs.includes("100%FREE"));
  const withReserve = reserve ? [...ordered.slice(0, rest === -1 ? ordered.length : rest), reserve, ...(rest === -1 ? [] : ordered.slice(rest))] : ordered;
  return withReserve.map((lv) => {
    if (lv === reserve) return ["lvm", "lvcreate", "--yes", "--wipesignatures", "n", "--zero", "n", "--name", lv.name, ...lv.sizeArgs, vg];
    if (staged && lv.name === storeLv) {
      return ["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", lv.name, "--extents", `${staged.storeExtents}`, vg, storeExtents(ctx, staged)];
    }
    const clear = staged ? "n" : "y";
    return ["lvm", "lvcreate", "--yes", "--wipesignatures", clear, "--zero", clear, "--name", lv.name, ...lv.sizeArgs, vg];
  });
}

/** The plan's extents, unless LVM placed the PV's extents otherwise than the plan assumed: then where LVM's geometry puts them clear of the staged files. */
function storeExtents(ctx: PlanContext, staged: StagedBoot) {
  const { vg, pv } = ctx.plan.lvm;
  const pvs = ["lvm", "pvs", "--noheadings", "--nosuffix", "--units", "s", "--options", "pe_start,pv_pe_count", pv];
  const vgs = ["lvm", "vgs", "--noheadings", "--nosuffix", "--units", "s", "--options", "vg_extent_size", vg];
  const planned = rangeArgs(pv, staged.storeRanges);
  return later(
    `<${planned.join(" ")}, or clear of the staged files by LVM's own geometry when it differs>`,
    async (run: StepContext) => {
      if (run.run.dryRun) return planned;
      const geometry = await probedGeometry(run, pvs, vgs);
      const assumed = defaultGeometry({ layout: ctx.plan.layout, lvmPartition: Number(ctx.manifest.target.lvmPartition) });
      if (geometry.peStart === assumed.peStart && geometry.extentSectors === assumed.extentSectors) return planned;
      run.log.warn(`LVM placed extents differently than planned (pe_start ${geometry.peStart} s, extent ${geometry.extentSectors} s); the store's extents follow LVM`);
      const ranges = extentsAvoiding(geometry, staged.keep, staged.storeExtents);
      if (!ranges) throw new Error(`${pv} has no ${staged.storeExtents} extents clear of the staged files`);
      return rangeArgs(pv, ranges);
    },
    [pvs, vgs],
  );
}

const rangeArgs = (pv: string, ranges: Array<[number, number]>) => ranges.map(([first, last]) => `${pv}:${first}-${last}`);

/** The PV's real geometry, from LVM itself. */
async function probedGeometry(ctx: StepContext, pvs: string[], vgs: string[]): Promise<PvGeometry> {
  const [peStart, extentCount] = (await ctx.run.run(pvs, { readOnly: true })).stdout.trim().split(/\s+/).map(Number);
  const extentSectors = Number((await ctx.run.run(vgs, { readOnly: true })).stdout.trim());
  const pvStart = ctx.plan.layout.partitions.find((p) => p.number === Number(ctx.manifest.target.lvmPartition))!.firstLba;
  return { pvStart, peStart: peStart!, extentSectors, extentCount: extentCount! };
}
