/** lvcreate arguments for a manifest size: absolute bytes, percent of the VG, or the rest. */
export function lvcreateSizeArgs(size: string): string[] {
  if (size === "rest") return ["--extents", "100%FREE"];
  if (size.endsWith("%")) return ["--extents", `${size}VG`];
  return ["--size", `${parseBytes(size)}b`];
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

export function parseBytes(size: string): number {
  const match = /^(\d+)(B|KiB|MiB|GiB|TiB)$/.exec(size);
  if (!match) throw new Error(`not an absolute size: ${size}`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

/** Bytes the absolute sizes need; percent and rest volumes need at least one extent each. */
export function minimumVolumeGroupBytes(sizes: string[], extentBytes = 4 * 1024 ** 2): number {
  return sizes.reduce((sum, size) => sum + (/^\d/.test(size) && !size.endsWith("%") ? parseBytes(size) : extentBytes), 0);
}
