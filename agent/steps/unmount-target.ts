import { mountedTargets } from "../disk/mounts.ts";
import { type PlanContext, runCommands, type Step } from "./step.ts";

export const unmountTarget: Step = {
  name: "unmount-target",
  summary: "unmount the new root, deactivate its volume group and flush every write to disk",
  destructive: false,
  commands: (ctx: PlanContext) => [
    ["umount", "--recursive", ctx.paths.targetRoot],
    ["lvm", "vgchange", "--activate", "n", ctx.plan.lvm.vg],
    ["sync"],
  ],
  async run(ctx) {
    const mounted = mountedTargets().has(ctx.paths.targetRoot);
    await runCommands(ctx, unmountTarget.commands(ctx).filter((argv) => mounted || argv[0] !== "umount"));
  },
};
