import { undetectedDistro } from "../distro/adapter.ts";
import { inChroot, type PlanContext, runPlannedCommands, type Step } from "./step.ts";

export const installBootloader: Step = {
  name: "install-bootloader",
  summary: "install GRUB for BIOS on the target disk, from the new root",
  destructive: true,
  requires: ["target", "chroot"],
  commands: (ctx: PlanContext) => [inChroot(ctx, (ctx.distro ?? undetectedDistro).grubInstall(ctx.plan.disk.path))],
  run: (ctx) => runPlannedCommands(installBootloader, ctx),
};
