import { ProbeError } from "../errors/errors.ts";
import { judgeVolumeGroupsOnDisk } from "../lvm/volume-groups-on-disk.ts";
import type { BlockDevice, Machine, OldSystem, RootCandidate } from "./machine.ts";

/**
 * Finds the old system without guessing: the one filesystem that is a system root (has
 * /etc/os-release) — preferring the roots that hold the staged payload — and the disk under it.
 */
export function findOldSystem(machine: Machine): OldSystem {
  const root = pickRoot(machine.rootCandidates);
  const disk = diskOf(root.device, machine.blockDevices);
  const partitions = machine.blockDevices.filter((device) => device.type === "part" && device.parent === disk.path);
  const volumeGroups = judgeVolumeGroupsOnDisk(disk.path, machine, machine.blockDevices).names;
  return { root, disk, volumeGroups, partitions };
}

function pickRoot(candidates: RootCandidate[]): RootCandidate {
  const staged = candidates.filter((candidate) => candidate.hasStagedPayload);
  const pool = staged.length > 0 ? staged : candidates;
  if (pool.length === 1) return pool[0]!;
  if (pool.length === 0) {
    throw new ProbeError(
      "no old system root found: no ext4 or xfs filesystem on this machine holds /etc/os-release",
      "Check that the appliance disk is attached (`lsblk`) and its volume group can be activated (`lvm vgchange -ay`).",
    );
  }
  const listed = pool.map((c) => `${c.device} (${c.osRelease.PRETTY_NAME ?? c.osRelease.ID ?? "unknown"})`);
  throw new ProbeError(
    `more than one candidate old system root: ${listed.join(", ")}`,
    "Detach every disk but the appliance's own, or stage the payload on exactly one of them; the agent will not guess which disk to wipe.",
    { candidates: pool.map((c) => c.device) },
  );
}

export function diskOf(devicePath: string, devices: BlockDevice[]): BlockDevice {
  const byPath = new Map(devices.map((device) => [device.path, device]));
  let current = byPath.get(devicePath);
  const seen = new Set<string>();
  while (current && current.type !== "disk") {
    if (seen.has(current.path) || !current.parent) break;
    seen.add(current.path);
    current = byPath.get(current.parent);
  }
  if (!current || current.type !== "disk") {
    throw new ProbeError(
      `cannot find the disk under ${devicePath}`,
      "Run `lsblk -o NAME,TYPE,PKNAME` and report the output; the old root must sit on a partition or an LVM volume of one disk.",
    );
  }
  return current;
}
