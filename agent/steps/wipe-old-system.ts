import type { PlanContext, Step } from "./step.ts";
import { runPlannedCommands } from "./step.ts";

/**
 * The point of no return. Old LVM volumes are deactivated and every old signature is wiped, so
 * that no stale filesystem, swap or PV header can reappear where a new partition happens to start.
 */
export const wipeOldSystem: Step = {
  name: "wipe-old-system",
  summary: "deactivate the old volume groups and wipe old signatures",
  destructive: true,
  commands: (ctx: PlanContext) => {
    const old = ctx.plan.oldSystem;
    const oldPvs = old.partitions.map((p) => p.path);
    return [
      ...old.volumeGroups.map((vg) => ["lvm", "vgchange", "--activate", "n", vg]),
      ...old.volumeGroups.map((vg) => ["lvm", "vgremove", "--force", "--force", "--yes", vg]),
      ...oldPvs.map((device) => ["wipefs", "--all", "--force", device]),
      ["wipefs", "--all", "--force", ctx.plan.disk.path],
    ];
  },
  run: (ctx) => runPlannedCommands(wipeOldSystem, ctx),
};
