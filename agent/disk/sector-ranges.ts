/** A run of 512-byte sectors on a disk, by absolute LBA. */
export interface SectorRange {
  start: number;
  count: number;
}

export const SECTOR = 512;

/** A piece of a file in file order: its sectors on the disk, or a hole (zeros, no sectors). */
export interface FilePiece extends SectorRange {
  hole?: true;
}

export function rangeEnd(range: SectorRange): number {
  return range.start + range.count;
}

export function overlaps(a: SectorRange, b: SectorRange): boolean {
  return a.start < rangeEnd(b) && b.start < rangeEnd(a);
}

/** The first range of `ranges` that overlaps `region`, if any. */
export function firstOverlap(ranges: readonly SectorRange[], region: SectorRange): SectorRange | undefined {
  return ranges.find((range) => overlaps(range, region));
}

/** Sorted, with touching and overlapping ranges joined; holes hold no sectors and are dropped. */
export function mergeRanges(ranges: readonly FilePiece[]): SectorRange[] {
  const sorted = ranges.filter((r) => r.count > 0 && !r.hole).map(({ start, count }) => ({ start, count })).sort((a, b) => a.start - b.start);
  const merged: SectorRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && range.start <= rangeEnd(last)) last.count = Math.max(rangeEnd(last), rangeEnd(range)) - last.start;
    else merged.push({ ...range });
  }
  return merged;
}

/** In the given (file) order, each range that starts where the previous ended joined to it. */
export function joinAdjacent(ranges: readonly FilePiece[]): FilePiece[] {
  const joined: FilePiece[] = [];
  for (const range of ranges) {
    const last = joined.at(-1);
    if (last && (last.hole ? range.hole : !range.hole && rangeEnd(last) === range.start)) last.count += range.count;
    else joined.push({ ...range });
  }
  return joined;
}

export function totalSectors(ranges: readonly SectorRange[]): number {
  return ranges.reduce((sum, r) => sum + r.count, 0);
}

/** GRUB's blocklist notation for whole-disk sectors: `(hd0)START+COUNT,START+COUNT`. */
export function grubBlocklist(device: string, ranges: readonly SectorRange[]): string {
  return `${device}${ranges.map((r) => `${r.start}+${r.count}`).join(",")}`;
}
