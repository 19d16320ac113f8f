import { VerificationError } from "../errors/errors.ts";
import { check, command, type Entry } from "../steps/entry.ts";
import { extractArchiveCommand, installedKernels } from "../steps/extract-rootfs.ts";
import { bundleOptionsOf, type InstallContext } from "./install-context.ts";
import { rootfsChunks } from "./install-bundle.ts";

/** The rootfs member streamed from the bundle into the migration's tar (owners numeric, ACLs, xattrs), its SHA-256 checked as it passes. */
export function extractEntries(ictx: InstallContext): Entry[] {
  const { bundle, slotTarget } = ictx.setup;
  const rootfs = ictx.facts.head.manifest.payload.rootfs;
  return [
    command(extractArchiveCommand(rootfs.compression, slotTarget), {
      stdin: { file: `${bundle}:${rootfs.file}`, progress: `extracting ${rootfs.file}`, open: (_ctx, progress) => rootfsChunks(bundle, ictx.facts.head, bundleOptionsOf(ictx.setup), progress) },
    }),
    check("the slot's root has a kernel: a /boot/vmlinuz-KVER for a /lib/modules/KVER", () => {
      if (installedKernels(slotTarget).length === 0) {
        throw new VerificationError("the slot image's root has no kernel: no /boot/vmlinuz-KVER matches a /lib/modules/KVER", "The slot image is incomplete: rebuild it with the kernel package installed. The slot stays marked bad.");
      }
    }),
  ];
}
