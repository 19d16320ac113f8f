import { ancestorsOf, disksUnder } from "../disk/device-tree.ts";
import type { PhysicalVolume } from "../lvm/physical-volumes.ts";
import type { BlockDevice } from "../machine/machine.ts";
import type { SystemDisk } from "./stage-facts.ts";

/** Filesystems the old system needs to boot: a second disk holding one makes the target ambiguous. */
export const SYSTEM_MOUNTPOINTS = ["/", "/boot", "/boot/efi", "/usr", "/var"] as const;

/** VGs with a PV under the device (the root VG when given the root LV). */
export function volumeGroupsUnder(path: string, rows: BlockDevice[], pvs: PhysicalVolume[]): string[] {
  const ancestors = ancestorsOf(path, rows);
  return [...new Set(pvs.filter((pv) => ancestors.has(pv.device)).map((pv) => pv.vg))].sort();
}

/** Every disk the old system's root or a system filesystem or a PV of the root VG lives on, with why. */
export function candidateSystemDisks(rootSource: string, rows: BlockDevice[], pvs: PhysicalVolume[]): SystemDisk[] {
  const holds = new Map<string, string[]>();
  const add = (disk: string, what: string) => {
    const list = holds.get(disk) ?? [];
    if (!list.includes(what)) list.push(what);
    holds.set(disk, list);
  };
  for (const mountpoint of SYSTEM_MOUNTPOINTS) {
    const source = mountpoint === "/" ? rootSource : rows.find((row) => row.mountpoint === mountpoint)?.path;
    if (source) for (const disk of disksUnder(source, rows)) add(disk, mountpoint);
  }
  const rootVgs = volumeGroupsUnder(rootSource, rows, pvs);
  for (const pv of pvs.filter((p) => rootVgs.includes(p.vg))) {
    for (const disk of disksUnder(pv.device, rows)) add(disk, `PV of VG ${pv.vg}`);
  }
  return [...holds.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, what]) => ({ path, sizeBytes: sizeOf(path, rows), holds: what }));
}

function sizeOf(path: string, rows: BlockDevice[]): number {
  return rows.find((row) => row.path === path)?.sizeBytes ?? 0;
}
