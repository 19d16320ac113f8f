import { parseFstab } from "../disk/fstab.ts";
import { ArchiveError } from "../errors/errors.ts";
import { SHARED_BOOT_MOUNT } from "./slot-paths.ts";

/**
 * The payload's fstab mounts the boot partition on /boot; in a slot it goes to SHARED_BOOT_MOUNT
 * instead, so the slot's own /boot (its kernel and initramfs, in its LV) is what the distribution's
 * tools see and write. Everything else in the file is kept as it is, comments included.
 */
export function withSharedBootMount(fstab: string): string {
  const mountpoints = parseFstab(fstab).map((entry) => entry.mountpoint);
  // Run again after a power cut: the line was moved already.
  if (!mountpoints.includes("/boot") && mountpoints.filter((m) => m === SHARED_BOOT_MOUNT).length === 1) return fstab;
  let moved = 0;
  const lines = fstab.split("\n").map((line) => {
    if (parseFstab(line)[0]?.mountpoint !== "/boot") return line;
    moved += 1;
    return line.replace(/^(\s*\S+\s+)\/boot(?=\s|$)/, `$1${SHARED_BOOT_MOUNT}`);
  });
  if (moved !== 1) {
    throw new ArchiveError(
      `the new root's /etc/fstab has ${moved} entries for /boot; with slots it needs exactly one (the shared boot partition)`,
      "Fix the payload's /etc/fstab (one /boot line, by UUID) and rebuild the bundle.",
    );
  }
  return lines.join("\n");
}
