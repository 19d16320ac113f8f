import { LayoutError, PreflightError } from "../errors/errors.ts";
import { type GptLayout, type LayoutPartition, lastUsableLbaFor, SECTOR_BYTES } from "../disk/gpt-backup.ts";
import { type DiskIdentity, diskIdentity } from "../disk/disk-identity.ts";
import { partitionDevice } from "../disk/partition-device.ts";
import { lvcreateSizeArgs, minimumVolumeGroupBytes } from "../lvm/volume-sizes.ts";
import { judgeVolumeGroupsOnDisk } from "../lvm/volume-groups-on-disk.ts";
import { volumeGroupNameClash } from "../lvm/volume-group-name.ts";
import { findOldSystem } from "../machine/find-old-system.ts";
import type { Machine, OldSystem } from "../machine/machine.ts";
import type { FilesystemSpec, Manifest } from "../manifest/manifest.ts";
import type { ArchiveCheck } from "../payload/archive-check.ts";
import { describeMemoryNeed, type MemoryNeed, memoryNeed } from "./memory.ts";
import { SHARED_BOOT_MOUNT } from "../slots/slot-paths.ts";
import { RESERVE_PLACEHOLDER_LV } from "../snapshots/names.ts";
import { decideStagedBoot, type StagedBootDecision, type StagedFilesProbe } from "../resume/staged-boot.ts";

export interface PlannedPartition extends LayoutPartition {
  device: string;
}

export interface PlannedVolume {
  name: string;
  device: string;
  sizeArgs: string[];
}

export interface PlannedFilesystem {
  device: string;
  type: FilesystemSpec["type"];
  /** The manifest's mountpoint (what the payload's fstab names). */
  mountpoint?: string;
  /** Where it is mounted in the new root when that differs: the shared boot partition of slots (docs/SLOTS.md). */
  mountAt?: string;
  label?: string;
  uuidFromFstab: boolean;
}

/** What to do to which disk: computed from the manifest, the layout and the probed machine only. */
export interface MigrationPlan {
  /** `identity`: what finds this disk again after a reboot, whatever its kernel name then (agent/resume/target-disk.ts). */
  disk: { path: string; sizeBytes: number; sectors: number; transport?: string; identity: DiskIdentity };
  oldSystem: OldSystem;
  layout: GptLayout;
  partitions: PlannedPartition[];
  moveBackupHeader: boolean;
  growLvmPartition: { number: number; fromLastLba: number; toLastLba: number } | null;
  /** `reserve`: the placeholder create-volumes makes before the "rest" LV and removes after it, so the snapshot reserve stays free. */
  lvm: { vg: string; pv: string; volumes: PlannedVolume[]; reserve?: PlannedVolume };
  filesystems: PlannedFilesystem[];
  /** Filesystems with a mountpoint, parents before children. */
  mounts: PlannedFilesystem[];
  /**
   * The LV that holds the resume store (docs/RESUME.md): a filesystem the manifest creates but does
   * not mount (slot B, "back", unused until the first A/B upgrade). null: no such LV, no resume.
   */
  resume?: PlannedResumeVolume | null;
  /** The tmpfs size load-payload sets, and the RAM that needs (agent/plan/memory.ts). */
  memory: MemoryNeed;
  /** Whether window A is closed by booting and resuming from the staged files (docs/RESUME.md). */
  stagedBoot: StagedBootDecision;
  /** The A/B system slots (docs/SLOTS.md); absent when the manifest has none. */
  slots?: PlannedSlots;
  /** Where the payload archive's members are judged: stage did, or check-payload-archive does (agent/payload/archive-check.ts). */
  archiveCheck: ArchiveCheck;
}

export interface PlannedSlots {
  a: PlannedSlot;
  b: PlannedSlot;
  tries: number;
  menuTimeoutSeconds: number;
}

export interface PlannedSlot {
  lv: string;
  device: string;
}

export interface PlannedResumeVolume {
  lv: string;
  device: string;
  type: FilesystemSpec["type"];
}

/**
 * `carriedBytes`: the captured config and carry-over archive `stage` left, which go to RAM too.
 * `archiveCheck`: what the migration entry says (va.check-archive: stage had no xz).
 */
export function planMigration(
  manifest: Manifest,
  layout: GptLayout,
  machine: Machine,
  stagedFiles?: StagedFilesProbe,
  carriedBytes = 0,
  archiveCheck: ArchiveCheck = "at-stage",
): MigrationPlan {
  const oldSystem = findOldSystem(machine);
  const disk = oldSystem.disk;
  const sectors = Math.floor(disk.sizeBytes / SECTOR_BYTES);
  checkLayoutFits(layout, sectors, disk.path);
  const memory = memoryNeed(manifest, carriedBytes);
  checkRam(memory, machine);
  checkOldVolumeGroupsStayOnDisk(machine, disk.path);
  checkVolumeGroupName(manifest, machine, oldSystem);

  const lvmNumber = manifest.target.lvmPartition;
  const lvmPartition = layout.partitions.find((p) => p.number === lvmNumber);
  if (!lvmPartition) {
    throw new LayoutError(
      `the partition table has no partition ${lvmNumber} (target.lvmPartition)`,
      "Fix target.lvmPartition in the manifest or the partition table file, then rebuild the bundle.",
    );
  }
  const moveBackupHeader = sectors !== layout.diskSectors;
  const diskLastUsable = lastUsableLbaFor(sectors);
  const grows = manifest.target.growLvmPartition && lvmPartition.lastLba < diskLastUsable && isLastPartition(layout, lvmNumber);
  const partitions = layout.partitions.map((p) => ({ ...p, device: partitionDevice(disk.path, p.number) }));
  const pv = partitionDevice(disk.path, lvmNumber);
  checkVolumesFit(manifest, grows ? diskLastUsable : lvmPartition.lastLba, lvmPartition.firstLba);

  const filesystems = manifest.filesystems.map((fs) => plannedFilesystem(fs, manifest.lvm.vg, disk.path, manifest.slots !== undefined));
  const resume = resumeVolume(manifest);
  return {
    disk: { path: disk.path, sizeBytes: disk.sizeBytes, sectors, ...(disk.transport ? { transport: disk.transport } : {}), identity: diskIdentity(disk, layout.diskGuid) },
    oldSystem,
    layout,
    partitions,
    moveBackupHeader,
    growLvmPartition: grows ? { number: lvmNumber, fromLastLba: lvmPartition.lastLba, toLastLba: diskLastUsable } : null,
    lvm: {
      vg: manifest.lvm.vg,
      pv,
      volumes: manifest.lvm.lvs.map((lv) => ({
        name: lv.name,
        device: logicalVolumeDevice(manifest.lvm.vg, lv.name),
        sizeArgs: lvcreateSizeArgs(lv.size),
      })),
      ...(manifest.snapshots ? { reserve: { name: RESERVE_PLACEHOLDER_LV, device: logicalVolumeDevice(manifest.lvm.vg, RESERVE_PLACEHOLDER_LV), sizeArgs: lvcreateSizeArgs(manifest.snapshots.reserve) } } : {}),
    },
    filesystems,
    mounts: filesystems
      .filter((fs) => fs.mountpoint)
      .sort((a, b) => depth(mountLocation(a)) - depth(mountLocation(b)) || mountLocation(a).localeCompare(mountLocation(b))),
    resume,
    ...(manifest.slots ? { slots: plannedSlots(manifest) } : {}),
    memory,
    stagedBoot: decideStagedBoot({ manifest, layout, diskSectors: sectors, lvmPartition: lvmNumber, resumeLv: resume?.lv, probe: stagedFiles }),
    archiveCheck,
  };
}

/** Prefers the LV named "back" (slot B); otherwise the first LV whose filesystem has no mountpoint. */
export const DEFAULT_RESUME_LV = "back";

export function resumeVolume(manifest: Manifest): PlannedResumeVolume | null {
  const candidates = manifest.filesystems.filter((fs) => fs.on.startsWith("lv:") && !fs.mountpoint);
  const chosen = candidates.find((fs) => fs.on === `lv:${DEFAULT_RESUME_LV}`) ?? candidates[0];
  if (!chosen) return null;
  const lv = chosen.on.slice(3);
  return { lv, device: logicalVolumeDevice(manifest.lvm.vg, lv), type: chosen.type };
}

/** The device-mapper path, which is what the new fstab and kernel command line use. */
export function logicalVolumeDevice(vg: string, lv: string): string {
  const escape = (name: string) => name.replaceAll("-", "--");
  return `/dev/mapper/${escape(vg)}-${escape(lv)}`;
}

/** Where a filesystem is mounted inside the new root ("/", "/data", the shared boot partition's place). */
export function mountLocation(fs: PlannedFilesystem): string {
  return fs.mountAt ?? fs.mountpoint!;
}

function plannedSlots(manifest: Manifest): PlannedSlots {
  const { vg } = manifest.lvm;
  const { a, b, tries, menuTimeoutSeconds } = manifest.slots!;
  return { a: { lv: a, device: logicalVolumeDevice(vg, a) }, b: { lv: b, device: logicalVolumeDevice(vg, b) }, tries, menuTimeoutSeconds };
}

function plannedFilesystem(fs: FilesystemSpec, vg: string, diskPath: string, slots: boolean): PlannedFilesystem {
  const device = fs.on.startsWith("lv:")
    ? logicalVolumeDevice(vg, fs.on.slice(3))
    : partitionDevice(diskPath, Number(fs.on.slice("partition:".length)));
  return {
    device,
    type: fs.type,
    ...(fs.mountpoint ? { mountpoint: fs.mountpoint } : {}),
    // With slots each slot's /boot is its own (kernel and root switch together); the partition is shared.
    ...(slots && fs.mountpoint === "/boot" ? { mountAt: SHARED_BOOT_MOUNT } : {}),
    ...(fs.label ? { label: fs.label } : {}),
    uuidFromFstab: fs.uuidFromFstab ?? false,
  };
}

function checkLayoutFits(layout: GptLayout, sectors: number, diskPath: string): void {
  const needed = Math.max(...layout.partitions.map((p) => p.lastLba));
  if (needed > lastUsableLbaFor(sectors)) {
    const mib = (s: number) => Math.floor((s * SECTOR_BYTES) / 1024 ** 2);
    throw new LayoutError(
      `the new layout needs a disk of ${mib(layout.diskSectors)} MiB but ${diskPath} has ${mib(sectors)} MiB`,
      "Grow the appliance's virtual disk to at least the layout's size, then start again; nothing was changed.",
      { neededSectors: layout.diskSectors, diskSectors: sectors },
    );
  }
}

/** The rule of stage's `ram` pre-flight check, with the carried configuration now known. */
function checkRam(need: MemoryNeed, machine: Machine): void {
  if (machine.ramBytes < need.ramBytes) {
    const mib = (b: number) => Math.floor(b / 1024 ** 2);
    throw new PreflightError(
      `not enough RAM: the machine has ${mib(machine.ramBytes)} MiB; the migration needs ${describeMemoryNeed(need)}`,
      `Give the appliance more memory for the migration (at least ${Math.ceil(need.ramBytes / 1024 ** 2)} MiB), then start again; nothing was changed.`,
      { neededBytes: need.ramBytes, ramBytes: machine.ramBytes },
    );
  }
}

/** The rule pre-flight's lvm-target-disk check applies, on what the tiny system probed itself. */
function checkOldVolumeGroupsStayOnDisk(machine: Machine, disk: string): void {
  const { refusal } = judgeVolumeGroupsOnDisk(disk, machine, machine.blockDevices);
  if (refusal) throw new PreflightError(refusal.finding, `${refusal.remedy} Then stage again; nothing was changed.`);
}

function checkVolumeGroupName(manifest: Manifest, machine: Machine, oldSystem: OldSystem): void {
  const clash = volumeGroupNameClash(manifest.lvm.vg, oldSystem.disk.path, machine, machine.blockDevices);
  if (clash) {
    throw new PreflightError(
      clash,
      `Rename or remove that volume group (\`vgrename ${manifest.lvm.vg} OTHER\`) or detach the disk, then stage again; nothing was changed.`,
    );
  }
}

function checkVolumesFit(manifest: Manifest, lastLba: number, firstLba: number): void {
  const available = (lastLba - firstLba + 1) * SECTOR_BYTES;
  const needed = minimumVolumeGroupBytes([...manifest.lvm.lvs.map((lv) => lv.size), ...(manifest.snapshots ? [manifest.snapshots.reserve] : [])]);
  if (needed > available) {
    throw new LayoutError(
      `the logical volumes${manifest.snapshots ? " and the snapshot reserve" : ""} need at least ${needed} bytes but the LVM partition holds ${available}`,
      "Fix lvm.lvs sizes in the manifest or the partition table, then rebuild the bundle.",
    );
  }
}

function isLastPartition(layout: GptLayout, number: number): boolean {
  const target = layout.partitions.find((p) => p.number === number)!;
  return layout.partitions.every((p) => p.lastLba <= target.lastLba);
}

const depth = (mountpoint: string) => (mountpoint === "/" ? 0 : mountpoint.split("/").length - 1);
