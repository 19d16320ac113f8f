import { undetectedDistro } from "../distro/adapter.ts";
import { SHARED_BOOT_MOUNT } from "../slots/slot-paths.ts";
import { command } from "./entry.ts";
import { inChroot, type PlanContext, type Step } from "./step.ts";

export const installBootloader: Step = {
  name: "install-bootloader",
  summary: "install GRUB for BIOS on the target disk, from the new root",
  destructive: true,
  armsBoot: "new-system",
  requires: ["target", "chroot"],
  entries: (ctx: PlanContext) => [command(inChroot(ctx, (ctx.distro ?? undetectedDistro).grubInstall(ctx.plan.disk.path, ctx.plan.slots ? SHARED_BOOT_MOUNT : undefined)))],
};
