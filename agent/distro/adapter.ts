import { existsSync } from "node:fs";
import { join } from "node:path";
import { DistroError } from "../errors/errors.ts";
import { readOsRelease } from "../machine/os-release.ts";

export type DistroFamily = "el" | "debian";

/** Every difference between EL7/EL9 and Debian that a step cares about, in one place. */
export interface DistroAdapter {
  family: DistroFamily;
  prettyName: string;
  /** `bootDirectory`: where GRUB's own files go instead of /boot (the shared boot partition of slots). */
  grubInstall(disk: string, bootDirectory?: string): string[];
  grubMkconfig(): string[];
  initramfsRebuild(kver: string): string[];
  initramfsPath(kver: string): string;
  /** Network configuration the carry-over step renders for this target. */
  networkStyle: "networkmanager" | "network-scripts" | "ifupdown" | "networkd";
}

export function detectDistro(root: string): DistroAdapter {
  const osRelease = readOsRelease(root);
  if (!osRelease) {
    throw new DistroError(
      `no os-release in ${root}: cannot tell which distribution the new root is`,
      "The payload must contain /etc/os-release; rebuild the bundle from a complete root filesystem.",
    );
  }
  const ids = [osRelease.ID ?? "", ...(osRelease.ID_LIKE ?? "").split(/\s+/)];
  const prettyName = osRelease.PRETTY_NAME ?? osRelease.ID ?? "unknown";
  if (ids.some((id) => ["rhel", "centos", "fedora", "rocky", "almalinux"].includes(id))) {
    return elAdapter(root, prettyName, Number.parseInt(osRelease.VERSION_ID ?? "0", 10));
  }
  if (ids.includes("debian") || ids.includes("ubuntu")) return debianAdapter(root, prettyName);
  throw new DistroError(
    `unsupported distribution in the new root: ${prettyName}`,
    "va-agent supports EL7/EL9 and Debian-family targets; check the payload.",
  );
}

function elAdapter(root: string, prettyName: string, major: number): DistroAdapter {
  return {
    family: "el",
    prettyName,
    grubInstall: (disk, bootDirectory) => ["grub2-install", "--target=i386-pc", ...bootDirectoryArgs(bootDirectory), disk],
    grubMkconfig: () => ["grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"],
    initramfsRebuild: (kver) => ["dracut", "--force", "--kver", kver, `/boot/initramfs-${kver}.img`],
    initramfsPath: (kver) => `/boot/initramfs-${kver}.img`,
    networkStyle: major >= 9 || !existsSync(join(root, "etc/sysconfig/network-scripts")) ? "networkmanager" : "network-scripts",
  };
}

function debianAdapter(root: string, prettyName: string): DistroAdapter {
  const hasDracut = existsSync(join(root, "usr/bin/dracut"));
  return {
    family: "debian",
    prettyName,
    grubInstall: (disk, bootDirectory) => ["grub-install", "--target=i386-pc", ...bootDirectoryArgs(bootDirectory), disk],
    grubMkconfig: () => ["grub-mkconfig", "-o", "/boot/grub/grub.cfg"],
    initramfsRebuild: (kver) =>
      hasDracut ? ["dracut", "--force", "--kver", kver, `/boot/initrd.img-${kver}`] : ["update-initramfs", "-c", "-k", kver],
    initramfsPath: (kver) => `/boot/initrd.img-${kver}`,
    networkStyle: existsSync(join(root, "etc/network/interfaces")) ? "ifupdown" : "networkd",
  };
}

const bootDirectoryArgs = (dir?: string) => (dir ? [`--boot-directory=${dir}`] : []);

/** Stands in before extraction, so `plan` can still print every command. */
export const undetectedDistro: DistroAdapter = {
  family: "debian",
  prettyName: "<detected from the new root after extraction>",
  grubInstall: (disk, bootDirectory) => ["<grub-install|grub2-install>", "--target=i386-pc", ...bootDirectoryArgs(bootDirectory), disk],
  grubMkconfig: () => ["<grub-mkconfig|grub2-mkconfig>", "-o", "<grub.cfg of the distribution>"],
  initramfsRebuild: (kver) => ["<dracut|update-initramfs>", "--force", "--kver", kver],
  initramfsPath: (kver) => `<initramfs for ${kver}>`,
  networkStyle: "networkd",
};
