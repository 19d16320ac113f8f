import { undetectedDistro } from "../distro/adapter.ts";
import { command } from "./entry.ts";
import { inChroot, type PlanContext, type Step } from "./step.ts";

export const writeBootloaderConfig: Step = {
  name: "write-bootloader-config",
  summary: "generate the GRUB configuration of the new system",
  destructive: true,
  requires: ["target", "chroot"],
  applies: (ctx) => (ctx.plan.slots ? "the agent's slot boot menu (write-slot-boot) boots the slots; the distribution's grub.cfg would boot neither" : true),
  entries: (ctx: PlanContext) => [command(inChroot(ctx, (ctx.distro ?? undetectedDistro).grubMkconfig()))],
};
