import type { PhysicalVolumeListing } from "../lvm/physical-volumes.ts";

/** The probed description of the machine: plain data, so planning stays pure and testable. */
export interface BlockDevice {
  path: string;
  /** lsblk TYPE: disk, part, lvm, rom, loop, ... */
  type: string;
  sizeBytes: number;
  fstype?: string;
  /** Path of the parent device (partition → disk, LV → PV partition). */
  parent?: string;
  mountpoint?: string;
  transport?: string;
  uuid?: string;
  label?: string;
  /** Disks: lsblk WWN, SERIAL and PTUUID (GPT disk GUID, or MBR signature), what identifies the disk across boots. */
  wwn?: string;
  serial?: string;
  ptuuid?: string;
}

/** A filesystem that was mounted read-only during probing and looked like a system root. */
export interface RootCandidate {
  device: string;
  fstype: string;
  osRelease: Record<string, string>;
  hasStagedPayload: boolean;
}

export interface Machine extends PhysicalVolumeListing {
  ramBytes: number;
  cpuFlags: string[];
  blockDevices: BlockDevice[];
  rootCandidates: RootCandidate[];
}

export interface OldSystem {
  root: RootCandidate;
  disk: BlockDevice;
  /** Volume groups with a PV on the disk (deactivated and wiped before repartitioning). */
  volumeGroups: string[];
  /** Partitions of the disk, in order. */
  partitions: BlockDevice[];
}
