import { undetectedDistro } from "../distro/adapter.ts";
import { installedKernels } from "./extract-rootfs.ts";
import { inChroot, type PlanContext, runCommands, type Step } from "./step.ts";

/** Builds the initramfs of every installed kernel inside the new root, for this machine's disks. */
export const rebuildInitramfs: Step = {
  name: "rebuild-initramfs",
  summary: "build the initramfs for the new kernel in the new root",
  destructive: true,
  requires: ["target", "chroot"],
  commands: (ctx) => initramfsCommands(ctx, ["<kernel version found in the new root>"]),
  async run(ctx) {
    if (!ctx.manifest.bootloader.rebuildInitramfs) {
      ctx.log.info("the manifest ships a ready initramfs (bootloader.rebuildInitramfs=false); not rebuilding");
      return;
    }
    await runCommands(ctx, initramfsCommands(ctx, installedKernels(ctx.paths.targetRoot)));
  },
};

function initramfsCommands(ctx: PlanContext, kernelVersions: string[]): string[][] {
  const distro = ctx.distro ?? undetectedDistro;
  return kernelVersions.map((kver) => inChroot(ctx, distro.initramfsRebuild(kver)));
}
