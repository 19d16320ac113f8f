import { undetectedDistro } from "../distro/adapter.ts";
import { inChroot, type PlanContext, runPlannedCommands, type Step } from "./step.ts";

export const writeBootloaderConfig: Step = {
  name: "write-bootloader-config",
  summary: "generate the GRUB configuration of the new system",
  destructive: true,
  requires: ["target", "chroot"],
  commands: (ctx: PlanContext) => [inChroot(ctx, (ctx.distro ?? undetectedDistro).grubMkconfig())],
  run: (ctx) => runPlannedCommands(writeBootloaderConfig, ctx),
};
