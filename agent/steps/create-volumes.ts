import type { PlanContext, Step } from "./step.ts";
import { runPlannedCommands } from "./step.ts";

/** Creates the new volume group and its logical volumes, wiping any signature LVM finds. */
export const createVolumes: Step = {
  name: "create-volumes",
  summary: "create the physical volume, the volume group and the logical volumes",
  destructive: true,
  commands: (ctx: PlanContext) => {
    const { vg, pv, volumes } = ctx.plan.lvm;
    return [
      ["lvm", "pvcreate", "--force", "--force", "--yes", pv],
      ["lvm", "vgcreate", "--yes", vg, pv],
      ...volumes.map((lv) => ["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", lv.name, ...lv.sizeArgs, vg]),
      ["udevadm", "settle", "--timeout=60"],
    ];
  },
  async run(ctx) {
    const existing = await ctx.run.run(["lvm", "vgs", "--noheadings", "--options", "vg_name", ctx.plan.lvm.vg], {
      readOnly: true,
      allowFailure: true,
    });
    if (existing.status === 0) {
      ctx.log.info(`volume group ${ctx.plan.lvm.vg} exists from an interrupted run; recreating it`);
      await ctx.run.run(["lvm", "vgremove", "--force", "--force", "--yes", ctx.plan.lvm.vg]);
    }
    await runPlannedCommands(createVolumes, ctx);
  },
};
