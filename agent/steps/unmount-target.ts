import { mountedTargets } from "../disk/mounts.ts";
import { command } from "./entry.ts";
import type { PlanContext, Step } from "./step.ts";

export const unmountTarget: Step = {
  name: "unmount-target",
  summary: "unmount the new root, deactivate its volume group and flush every write to disk",
  destructive: false,
  entries: (ctx: PlanContext) => [
    command(["umount", "--recursive", ctx.paths.targetRoot], {
      skipIf: { says: `${ctx.paths.targetRoot} is not mounted`, holds: () => !mountedTargets().has(ctx.paths.targetRoot) },
    }),
    command(["lvm", "vgchange", "--activate", "n", ctx.plan.lvm.vg]),
    command(["sync"]),
  ],
};
