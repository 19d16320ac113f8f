import { existsSync, lstatSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { DistroAdapter } from "../distro/adapter.ts";
import { VerificationError } from "../errors/errors.ts";
import { installedKernels } from "../steps/extract-rootfs.ts";

/**
 * The kernel and initramfs GRUB boots from a slot: `/vmlinuz` and `/initrd.img` at the slot's root,
 * as Debian's kernel packages keep them. Where the distribution makes none (EL), the install links
 * them to the newest kernel of the slot and its initramfs.
 */
export const KERNEL_LINKS = ["vmlinuz", "initrd.img"] as const;

/** Both links are there and name files of the slot (a link is read inside the slot, as GRUB reads it). */
export function hasKernelLinks(root: string): boolean {
  return KERNEL_LINKS.every((link) => resolvesInside(root, link));
}

function resolvesInside(root: string, link: string): boolean {
  const path = join(root, link);
  if (!lstatExists(path)) return false;
  if (!lstatSync(path).isSymbolicLink()) return true;
  // The links live at the slot's root: an absolute and a relative target both start there.
  return existsSync(join(root, readlinkSync(path)));
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Relative link targets (boot/vmlinuz-KVER): the slot's own files, wherever the slot is mounted. */
export function kernelLinkTargets(root: string, distro: DistroAdapter): Record<(typeof KERNEL_LINKS)[number], string> {
  const kernels = installedKernels(root).sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const kver = kernels.at(-1);
  if (!kver) throw new VerificationError("the slot's root has no kernel: no /boot/vmlinuz-KVER matches a /lib/modules/KVER", "The slot image is incomplete: rebuild it with the kernel package installed.");
  const initramfs = distro.initramfsPath(kver).replace(/^\/+/, "");
  if (!existsSync(join(root, initramfs))) {
    throw new VerificationError(
      `the slot's root has no initramfs for its kernel ${kver} (/${initramfs})`,
      "A slot install does not build one: rebuild the slot image with the initramfs of its kernel (dracut with the lvm module).",
    );
  }
  return { vmlinuz: `boot/vmlinuz-${kver}`, "initrd.img": initramfs };
}

export function writeKernelLinks(root: string, distro: DistroAdapter): Record<string, string> {
  const targets = kernelLinkTargets(root, distro);
  for (const link of KERNEL_LINKS) {
    const path = join(root, link);
    rmSync(path, { force: true });
    symlinkSync(targets[link], path);
  }
  return targets;
}
