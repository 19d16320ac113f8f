export interface FstabEntry {
  spec: string;
  mountpoint: string;
  type: string;
  options: string;
}

export function parseFstab(text: string): FstabEntry[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => line.split(/\s+/))
    .filter((fields) => fields.length >= 3)
    .map(([spec, mountpoint, type, options]) => ({ spec: spec!, mountpoint: mountpoint!, type: type!, options: options ?? "defaults" }));
}

/** The UUID an fstab line expects for `mountpoint` (UUID=… spec), if any. */
export function expectedUuid(entries: FstabEntry[], mountpoint: string): string | undefined {
  const entry = entries.find((e) => e.mountpoint === mountpoint);
  return entry?.spec.startsWith("UUID=") ? entry.spec.slice(5).replace(/^"(.*)"$/, "$1") : undefined;
}
