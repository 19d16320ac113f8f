import type { CapturedMount } from "./captured-config.ts";
import { parseFstab } from "../disk/fstab.ts";

const BEGIN = "# carried over by va-agent: filesystems the old system mounted from other disks and the network";
const END = "# end of what va-agent carried over";

/**
 * `nofail` is added to every carried entry that has neither it nor `noauto`: a second disk that is
 * missing, renamed or slow when the new system first boots, or a file server it cannot reach yet,
 * must not stop the boot in emergency mode (the box would be off the network: a site visit). The
 * one change of meaning: the boot goes on without that filesystem instead of stopping, and whatever
 * writes to the mount point then writes into the directory beneath it. Everything else is kept.
 */
export function carriedOptions(options: string): string {
  const list = options.split(",");
  return list.includes("nofail") || list.includes("noauto") ? options : `${options},nofail`;
}

/**
 * The new fstab with the carried entries in one marked block, replaced as a whole on a re-run. An
 * entry whose mount point the new fstab already has outside the block is left out (returned), so
 * two filesystems never compete for one mount point.
 */
export function withCarriedMounts(fstab: string, mounts: readonly CapturedMount[]): { text: string; carried: CapturedMount[]; clashing: CapturedMount[] } {
  const outside = withoutBlock(fstab);
  const taken = new Set(parseFstab(outside).map((line) => line.mountpoint));
  const carried = mounts.filter((mount) => !taken.has(mount.mountPoint));
  const clashing = mounts.filter((mount) => taken.has(mount.mountPoint));
  if (carried.length === 0) return { text: outside, carried, clashing };
  const lines = carried.map((m) => [m.spec, m.mountPoint, m.type, carriedOptions(m.options), m.dump, m.pass].join("\t"));
  const body = outside === "" || outside.endsWith("\n") ? outside : `${outside}\n`;
  return { text: `${body}\n${[BEGIN, ...lines, END].join("\n")}\n`, carried, clashing };
}

/** The text without the block (and the blank line before it) an earlier run appended. */
function withoutBlock(fstab: string): string {
  const start = fstab.indexOf(`${BEGIN}\n`);
  if (start < 0) return fstab;
  const end = fstab.indexOf(`${END}\n`, start);
  const after = end < 0 ? "" : fstab.slice(end + END.length + 1);
  return `${fstab.slice(0, start).replace(/\n\n$/, "\n")}${after}`;
}
