import { overlaps, type SectorRange } from "../disk/sector-ranges.ts";

/** Where a PV's extents are on the disk. */
export interface PvGeometry {
  /** Absolute LBA of the PV (its partition's first sector). */
  pvStart: number;
  /** Sectors from the PV start to extent 0 (pvs -o pe_start). */
  peStart: number;
  extentSectors: number;
  extentCount: number;
}

/** LVM's defaults with `pvcreate --dataalignment 1m` and `vgcreate --physicalextentsize 4m`. */
export const DEFAULT_PE_START = 2048;
export const DEFAULT_EXTENT_SECTORS = 8192;

export function extentRange(geometry: PvGeometry, extent: number): SectorRange {
  return { start: geometry.pvStart + geometry.peStart + extent * geometry.extentSectors, count: geometry.extentSectors };
}

/**
 * The first `needed` extents, in order, that overlap none of `avoid`, as inclusive PE ranges for
 * lvcreate's `PV:FIRST-LAST` arguments; undefined when the PV has not enough of them.
 */
export function extentsAvoiding(geometry: PvGeometry, avoid: readonly SectorRange[], needed: number): Array<[number, number]> | undefined {
  const ranges: Array<[number, number]> = [];
  let taken = 0;
  for (let extent = 0; extent < geometry.extentCount && taken < needed; extent++) {
    const range = extentRange(geometry, extent);
    if (avoid.some((a) => overlaps(a, range))) continue;
    const last = ranges.at(-1);
    if (last && last[1] === extent - 1) last[1] = extent;
    else ranges.push([extent, extent]);
    taken++;
  }
  return taken === needed ? ranges : undefined;
}
