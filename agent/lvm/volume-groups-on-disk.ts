import { disksUnder, type DeviceNode } from "../disk/device-tree.ts";
import type { PhysicalVolumeListing } from "./physical-volumes.ts";

/**
 * One rule for `stage`'s pre-flight and the tiny system's plan: wipe-old-system removes every VG
 * with a PV on the target disk, so none of them may also have a PV anywhere else (another disk, or
 * a missing one), and an unreadable PV list never stands for "no VGs" when the disk holds PVs.
 */
export interface VolumeGroupsVerdict {
  /** VGs with a PV on the disk: wipe-old-system removes them. */
  names: string[];
  /** Why the disk must not be wiped as it is, and what to do; absent when it may be. */
  refusal?: { finding: string; remedy: string };
}

interface SpanningGroup {
  name: string;
  onTarget: string[];
  /** Its other PVs by disk; "" for a PV whose device LVM cannot find. */
  elsewhere: Map<string, string[]>;
  lvs: { path: string; mountpoint: string | null }[];
}

const LVM_SIGNATURE = "LVM2_member";
const MISSING = "";

export function judgeVolumeGroupsOnDisk(disk: string, lvm: PhysicalVolumeListing, devices: readonly DeviceNode[]): VolumeGroupsVerdict {
  if (lvm.physicalVolumesFailure) {
    const signatures = devices.filter((d) => d.fstype === LVM_SIGNATURE && disksUnder(d.path, devices).includes(disk)).map((d) => d.path);
    // lsblk sees every PV signature: a disk without one has no VG to lose, whatever `lvm pvs` said.
    if (signatures.length === 0) return { names: [] };
    return { names: [], refusal: unreadable(disk, [...new Set(signatures)], lvm.physicalVolumesFailure) };
  }
  const onDisk = (device: string) => disksUnder(device, devices).includes(disk);
  const names = [...new Set(lvm.physicalVolumes.filter((pv) => onDisk(pv.device)).map((pv) => pv.vg))].sort();
  const spanning = names.map((name) => spanningGroup(name, disk, lvm, devices)).filter((group) => group.elsewhere.size > 0);
  if (spanning.length === 0) return { names };
  return { names, refusal: { finding: spanFinding(disk, spanning), remedy: spanRemedy(spanning) } };
}

/** The pre-flight report's line when the rule passes. */
export function volumeGroupsPassed(disk: string, verdict: VolumeGroupsVerdict): string {
  if (verdict.names.length === 0) return `no volume group has a PV on ${disk}`;
  return `the volume groups with a PV on ${disk} (${verdict.names.join(", ")}) have no PV on another disk`;
}

function spanningGroup(name: string, disk: string, lvm: PhysicalVolumeListing, devices: readonly DeviceNode[]): SpanningGroup {
  const pvs = lvm.physicalVolumes.filter((pv) => pv.vg === name).map((pv) => pv.device);
  const group: SpanningGroup = { name, onTarget: [], elsewhere: new Map(), lvs: logicalVolumesOn(pvs, devices) };
  for (const pv of pvs) {
    const disks = disksUnder(pv, devices);
    if (disks.includes(disk)) group.onTarget.push(pv);
    for (const other of disks.length === 0 ? [MISSING] : disks.filter((d) => d !== disk)) {
      group.elsewhere.set(other, [...(group.elsewhere.get(other) ?? []), pv]);
    }
  }
  return group;
}

/** LVs (and the devices stacked on them) over any of the PVs, with the mount point lsblk saw. */
function logicalVolumesOn(pvs: string[], devices: readonly DeviceNode[]): SpanningGroup["lvs"] {
  const lvs = new Map<string, string | null>();
  const pvSet = new Set(pvs);
  let grew = true;
  while (grew) {
    grew = false;
    for (const device of devices) {
      if (device.type !== "lvm" || !device.parent || !(pvSet.has(device.parent) || lvs.has(device.parent))) continue;
      if (!lvs.has(device.path)) grew = true;
      lvs.set(device.path, lvs.get(device.path) ?? device.mountpoint ?? null);
    }
  }
  return [...lvs.entries()].map(([path, mountpoint]) => ({ path, mountpoint })).sort((a, b) => a.path.localeCompare(b.path));
}

function spanFinding(disk: string, groups: SpanningGroup[]): string {
  const described = groups.map((group) => {
    const elsewhere = [...group.elsewhere.entries()].map(([other, pvs]) => `${other === MISSING ? "a missing device" : other} (${pvs.join(", ")})`);
    const lvs = group.lvs.map((lv) => (lv.mountpoint ? `${lv.path} at ${lv.mountpoint}` : lv.path)).join(", ") || "none active";
    return `volume group ${group.name} has PVs on the target disk ${disk} (${group.onTarget.join(", ")}) and on ${elsewhere.join(" and ")}; LVs: ${lvs}`;
  });
  const names = groups.map((group) => group.name).join(" and ");
  return `${described.join("; ")}; the migration removes every volume group with a PV on ${disk}, so all of ${names} would be lost`;
}

function spanRemedy(groups: SpanningGroup[]): string {
  const moves = groups.map((group) => {
    const steps = group.onTarget.map((pv) => `\`pvmove ${pv}\` then \`vgreduce ${group.name} ${pv}\``).join(", ");
    return `for ${group.name}: ${steps}`;
  });
  return (
    `Take the volume group off the target disk before migrating: move its extents to its other PVs (${moves.join("; ")}; ` +
    "the other PVs need that much free space, `vgextend` a new disk first if they lack it), " +
    "or give the LVs on the target disk a VG of their own with `vgsplit`, or back the data up and remove the VG (`vgremove`)."
  );
}

function unreadable(disk: string, signatures: string[], failure: string): VolumeGroupsVerdict["refusal"] {
  return {
    finding: `cannot tell which volume groups live on ${disk}, which holds LVM PVs (${signatures.join(", ")}): ${failure}`,
    remedy: "Make `lvm pvs` work (run it as root and fix what it reports); the migration removes every volume group with a PV on the disk and will not guess which those are.",
  };
}
