import { ancestorsOf, disksUnder } from "../disk/device-tree.ts";
import type { PhysicalVolume } from "../lvm/physical-volumes.ts";
import type { SystemDisk } from "./stage-facts.ts";

/** One lsblk row; in --list mode a device with several parents (an LV over two PVs) appears once per parent. */
export interface LsblkRow {
  path: string;
  type: string;
  sizeBytes: number;
  fstype: string | null;
  parent: string | null;
  mountpoint: string | null;
}

/** Filesystems the old system needs to boot: a second disk holding one makes the target ambiguous. */
export const SYSTEM_MOUNTPOINTS = ["/", "/boot", "/boot/efi", "/usr", "/var"] as const;

export function parseLsblkJson(json: string): LsblkRow[] {
  const rows = (JSON.parse(json) as { blockdevices: Record<string, string | number | null>[] }).blockdevices;
  return rows.map((row) => ({
    path: String(row.path),
    type: String(row.type),
    sizeBytes: Number(row.size),
    fstype: text(row.fstype),
    parent: text(row.pkname),
    mountpoint: text(row.mountpoint),
  }));
}

/** `lsblk --pairs` (util-linux 2.23 on CentOS 7 has neither --json nor the PATH column; NAME with --paths is the path). */
export function parseLsblkPairs(output: string): LsblkRow[] {
  return output
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => {
      const fields = Object.fromEntries([...line.matchAll(/([A-Z:]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      return {
        path: fields.NAME ?? fields.PATH ?? "",
        type: fields.TYPE ?? "",
        sizeBytes: Number(fields.SIZE ?? 0),
        fstype: text(fields.FSTYPE),
        parent: text(fields.PKNAME),
        mountpoint: text(fields.MOUNTPOINT),
      };
    });
}

/** VGs with a PV under the device (the root VG when given the root LV). */
export function volumeGroupsUnder(path: string, rows: LsblkRow[], pvs: PhysicalVolume[]): string[] {
  const ancestors = ancestorsOf(path, rows);
  return [...new Set(pvs.filter((pv) => ancestors.has(pv.device)).map((pv) => pv.vg))].sort();
}

/** Every disk the old system's root or a system filesystem or a PV of the root VG lives on, with why. */
export function candidateSystemDisks(rootSource: string, rows: LsblkRow[], pvs: PhysicalVolume[]): SystemDisk[] {
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

function sizeOf(path: string, rows: LsblkRow[]): number {
  return rows.find((row) => row.path === path)?.sizeBytes ?? 0;
}

function text(value: string | number | null | undefined): string | null {
  return value === null || value === undefined || value === "" ? null : String(value);
}
