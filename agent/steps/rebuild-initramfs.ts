import { existsSync } from "node:fs";
import { join } from "node:path";
import { undetectedDistro } from "../distro/adapter.ts";
import { VerificationError } from "../errors/errors.ts";
import { check, command, each, later } from "./entry.ts";
import { installedKernels } from "./extract-rootfs.ts";
import { inChroot, type PlanContext, type Step, type StepContext } from "./step.ts";

/** Builds the initramfs of every installed kernel inside the new root, for this machine's disks. */
export const rebuildInitramfs: Step = {
  name: "rebuild-initramfs",
  summary: "build the initramfs for the new kernel in the new root",
  destructive: true,
  requires: ["target", "chroot"],
  entries: (ctx: PlanContext) => {
    if (!ctx.manifest.bootloader.rebuildInitramfs) {
      return [check("every kernel of the new root has its initramfs in the payload (bootloader.rebuildInitramfs=false: not rebuilt)", checkShippedInitramfs)];
    }
    const kernels = later<string[]>("<kernel version found in the new root>", (run) => installedKernels(run.paths.targetRoot));
    return [each(kernels, (kver) => [command(inChroot(ctx, (ctx.distro ?? undetectedDistro).initramfsRebuild(kver)))])];
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
  ctx.log.info("the payload ships a generic initramfs (bootloader.rebuildInitramfs=false); not rebuilding");
}
