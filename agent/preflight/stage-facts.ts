import type { PhysicalVolumeListing } from "../lvm/physical-volumes.ts";
import type { InstalledProduct } from "../product/installed-product.ts";
import type { BlockDevice } from "../machine/machine.ts";

/** What the old, running system looks like to `stage`: plain data, so the checks stay pure. */
export interface StageFacts extends PhysicalVolumeListing {
  /** `uname -m`, e.g. x86_64. */
  arch: string;
  cpuFlags: string[];
  ramBytes: number;
  firmware: "uefi" | "bios";
  /** The device mounted at "/", as findmnt reports it (e.g. /dev/mapper/centos-root). */
  rootSource: string;
  /** The one disk under "/", or null when none or several were found. */
  rootDisk: SystemDisk | null;
  /** Disks holding a system filesystem (/, /boot, /usr, /var) or a PV of the root VG. */
  candidateDisks: SystemDisk[];
  /** lsblk's rows: which PV and LV sits on which disk. */
  blockDevices: BlockDevice[];
  boot: FreeSpace;
  staging: FreeSpace;
  /** Bytes of the bundle members `stage` copies into the staging directory. */
  bytesToStage: number;
  /** The boot and staging tools found on PATH (names only). */
  tools: string[];
  osRelease: Record<string, string>;
  /** The vendor's record of what is installed (/etc/va-agent/installed.json). */
  installedProduct: InstalledProduct;
  selinux: "enforcing" | "permissive" | "disabled";
}

export interface SystemDisk {
  path: string;
  sizeBytes: number;
  /** Why it is a system disk: mountpoints ("/", "/boot") and "PV of VG centos". */
  holds: string[];
}

export interface FreeSpace {
  /** The directory asked about (/boot, the staging dir). */
  path: string;
  /** The mountpoint of the filesystem holding it; null when df failed. */
  mountpoint: string | null;
  freeBytes: number | null;
}
