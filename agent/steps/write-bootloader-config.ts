import { undetectedDistro } from "../distro/adapter.ts";
import { command } from "./entry.ts";
import { inChroot, type PlanContext, type Step } from "./step.ts";

export const writeBootloaderConfig: Step = {
  name: "write-bootloader-config",
  summary: "generate the GRUB configuration of the new system",
  destructive: true,
  requires: ["target", "chroot"],
  entries: (ctx: PlanContext) => [command(inChroot(ctx, (ctx.distro ?? undetectedDistro).grubMkconfig()))],
};
