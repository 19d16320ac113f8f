import { undetectedDistro } from "../distro/adapter.ts";
import { installedKernels } from "./extract-rootfs.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { VerificationError } from "../errors/errors.ts";
import { inChroot, type PlanContext, runCommands, type Step, type StepContext } from "./step.ts";

/** Builds the initramfs of every installed kernel inside the new root, for this machine's disks. */
export const rebuildInitramfs: Step = {
  name: "rebuild-initramfs",
  summary: "build the initramfs for the new kernel in the new root",
  destructive: true,
  requires: ["target", "chroot"],
  commands: (ctx) => initramfsCommands(ctx, ["<kernel version found in the new root>"]),
  async run(ctx) {
    if (!ctx.manifest.bootloader.rebuildInitramfs) {
      checkShippedInitramfs(ctx);
      ctx.log.info("the payload ships a generic initramfs (bootloader.rebuildInitramfs=false); not rebuilding");
      return;
    }
    await runCommands(ctx, initramfsCommands(ctx, installedKernels(ctx.paths.targetRoot)));
  },
};

/** Skipping the rebuild is only safe when every kernel has its initramfs in the payload. */
function checkShippedInitramfs(ctx: StepContext): void {
  const distro = ctx.distro ?? undetectedDistro;
  const missing = installedKernels(ctx.paths.targetRoot).filter((kver) => !existsSync(join(ctx.paths.targetRoot, distro.initramfsPath(kver))));
  if (missing.length > 0) {
    throw new VerificationError(
      `bootloader.rebuildInitramfs is false but the payload has no initramfs for kernel ${missing.join(", ")}`,
      "Ship a generic (dracut --no-hostonly) initramfs in the payload or set bootloader.rebuildInitramfs to true.",
    );
  }
}

function initramfsCommands(ctx: PlanContext, kernelVersions: string[]): string[][] {
  const distro = ctx.distro ?? undetectedDistro;
  return kernelVersions.map((kver) => inChroot(ctx, distro.initramfsRebuild(kver)));
}
