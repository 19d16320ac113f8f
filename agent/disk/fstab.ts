export interface FstabEntry {
  spec: string;
  mountpoint: string;
  type: string;
  options: string;
  dump: number;
  pass: number;
}

export function parseFstab(text: string): FstabEntry[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => line.split(/\s+/))
    .filter((fields) => fields.length >= 3)
    .map(([spec, mountpoint, type, options, dump, pass]) => ({ spec: spec!, mountpoint: mountpoint!, type: type!, options: options ?? "defaults", dump: toCount(dump), pass: toCount(pass) }));
}

function toCount(field: string | undefined): number {
  return field && /^\d+$/.test(field) ? Number(field) : 0;
}

/** The UUID an fstab line expects for `mountpoint` (UUID=… spec), if any. */
export function expectedUuid(entries: FstabEntry[], mountpoint: string): string | undefined {
  const entry = entries.find((e) => e.mountpoint === mountpoint);
  return entry?.spec.startsWith("UUID=") ? entry.spec.slice(5).replace(/^"(.*)"$/, "$1") : undefined;
}

/**
 * What an fstab entry of the new root is, for the two checks of it (stage's pre-flight and the
 * tiny system's after extraction): `created` by the manifest (the only ones the tiny system can
 * and does resolve), `no-device` (pseudo filesystems, bind mounts), `optional` (the new system
 * boots without it: noauto, nofail, network, swap), or `required` (nothing creates it and the new
 * system would wait for it, then stop in emergency mode).
 */
export type FstabVerdict = { entry: FstabEntry; kind: "created" | "no-device" | "optional" | "required"; why: string };

const PSEUDO_TYPES = new Set(["proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "none", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "mqueue", "hugetlbfs", "efivarfs", "binfmt_misc", "configfs", "pstore", "bpf", "ramfs"]);
const NETWORK_TYPES = /^(nfs4?|cifs|smb3?|smbfs|sshfs|fuse\.sshfs|glusterfs|fuse\.glusterfs|ceph|fuse\.ceph|9p|davfs|fuse\.s3fs|lustre|ocfs2|gfs2)$/;

export function classifyFstab(entries: readonly FstabEntry[], createdMountpoints: readonly string[]): FstabVerdict[] {
  return entries.map((entry) => ({ entry, ...verdictOf(entry, createdMountpoints) }));
}

/** Mounted without a block device: the kernel's own filesystems. */
export function isPseudoFilesystem(type: string): boolean {
  return PSEUDO_TYPES.has(type);
}

/** Mounted over the network: its data lives on another machine. */
export function isNetworkFilesystem(type: string): boolean {
  return NETWORK_TYPES.test(type);
}

function verdictOf(entry: FstabEntry, created: readonly string[]): Omit<FstabVerdict, "entry"> {
  const options = entry.options.split(",");
  if (entry.type !== "swap" && created.includes(entry.mountpoint)) return { kind: "created", why: "made by the manifest" };
  if (isPseudoFilesystem(entry.type) || options.includes("bind") || options.includes("rbind")) return { kind: "no-device", why: "not a device" };
  if (options.includes("noauto")) return { kind: "optional", why: "noauto" };
  if (options.includes("nofail")) return { kind: "optional", why: "nofail" };
  if (isNetworkFilesystem(entry.type) || options.includes("_netdev")) return { kind: "optional", why: "network filesystem" };
  if (entry.type === "swap") return { kind: "optional", why: entry.spec.startsWith("/") && !entry.spec.startsWith("/dev/") ? "swap file" : "swap" };
  return { kind: "required", why: "nothing the manifest creates" };
}
