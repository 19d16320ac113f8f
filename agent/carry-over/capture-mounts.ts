import { lstatSync, readlinkSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { disksUnder, type DeviceNode } from "../disk/device-tree.ts";
import { type FstabEntry, isNetworkFilesystem, isPseudoFilesystem, parseFstab } from "../disk/fstab.ts";
import { SYSTEM_MOUNTPOINTS } from "../preflight/system-disks.ts";
import type { CapturedMount, CarryOverWarning } from "./captured-config.ts";
import { notCarried } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";

/** What `stage` probed about the disks: where an fstab entry's device lives is a fact, never a guess from its name. */
export interface MountFacts {
  /** The disk the migration rewrites. */
  targetDisk: string;
  /** lsblk's devices with their parents (the tree disksUnder walks). */
  devices: readonly DeviceNode[];
  /** Mount points the new layout makes (the manifest's filesystems). */
  provided: readonly string[];
}

/** An old fstab entry that is not carried, and why; `warned` when the capture says so by a warning too. */
export interface MountLeft {
  spec: string;
  mountPoint: string;
  type: string;
  why: string;
  warned: boolean;
}

type Verdict = { carried: CapturedMount["lives"] } | { left: string; warn: boolean };

/**
 * The old fstab's entries for filesystems outside the target disk: other disks' partitions and LVs
 * (found by the same device tree the target-disk checks walk; a VG that also has a PV on the target
 * disk is refused by the lvm-target-disk check already), and network filesystems. Everything else
 * is left: what the new layout provides silently, the rest by a warning naming its mount point.
 */
export function captureMounts(root: string, facts: MountFacts): { mounts: CapturedMount[]; left: MountLeft[]; warnings: CarryOverWarning[] } {
  const lines = parseFstab(readRootFile(root, "/etc/fstab") ?? "");
  const verdicts = new Map(lines.filter((line) => !isBind(line)).map((line) => [line, judge(line, root, facts)]));
  const carriedAt = lines.flatMap((line) => {
    const verdict = verdicts.get(line);
    return verdict && "carried" in verdict ? [{ mountPoint: unescapeFstab(line.mountpoint), lives: verdict.carried }] : [];
  });
  for (const line of lines.filter(isBind)) verdicts.set(line, judgeBind(line, carriedAt));
  const mounts: CapturedMount[] = [];
  const left: MountLeft[] = [];
  const warnings: CarryOverWarning[] = [];
  for (const line of lines) {
    const verdict = verdicts.get(line)!;
    if ("carried" in verdict) {
      mounts.push({ spec: line.spec, mountPoint: line.mountpoint, type: line.type, options: line.options, dump: line.dump, pass: line.pass, lives: verdict.carried });
      continue;
    }
    left.push({ spec: line.spec, mountPoint: line.mountpoint, type: line.type, why: verdict.left, warned: verdict.warn });
    if (verdict.warn) warnings.push(notCarried("mount-not-carried", `${line.mountpoint} (${line.spec}, ${line.type}) from /etc/fstab: ${verdict.left}`));
  }
  return { mounts, left, warnings };
}

function isBind(line: FstabEntry): boolean {
  const options = line.options.split(",");
  return options.includes("bind") || options.includes("rbind");
}

/** A bind of a path inside a carried filesystem means the same on the new system; any other source path is the target disk's. */
function judgeBind(line: FstabEntry, carriedAt: { mountPoint: string; lives: CapturedMount["lives"] }[]): Verdict {
  const source = unescapeFstab(line.spec);
  const under = carriedAt.filter((m) => source === m.mountPoint || source.startsWith(`${m.mountPoint}/`)).sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
  if (under) return { carried: under.lives };
  return { left: `a bind mount of ${line.spec}, a path on the target disk (no carried filesystem holds it)`, warn: true };
}

function judge(line: FstabEntry, root: string, facts: MountFacts): Verdict {
  if (line.type !== "swap" && !line.mountpoint.startsWith("/")) return { left: `no mount point (${line.mountpoint})`, warn: true };
  if (line.type === "tmpfs") return { left: "a tmpfs: the new system's own fstab and units decide its tmpfs mounts", warn: true };
  if (isPseudoFilesystem(line.type)) return { left: "a kernel filesystem, which the new system mounts itself", warn: false };
  const network = isNetworkFilesystem(line.type) && !isDeviceSpec(line.spec);
  const where = network ? undefined : whereIs(line.spec, root, facts);
  const elsewhere = network || where?.kind === "other-disk";
  if (line.type === "swap") {
    return elsewhere ? { left: `swap on ${where!.device} (${where!.disks.join(", ")}), another disk: swap is not carried`, warn: true } : { left: "swap on the target disk: the new layout decides swap", warn: false };
  }
  if (isProvided(line.mountpoint, facts)) {
    if (!elsewhere) return { left: "the new layout provides this mount point", warn: false };
    return { left: `the new layout mounts its own filesystem at ${line.mountpoint}, so this one ${network ? "share" : `on ${where!.disks.join(", ")}`} is no longer mounted there`, warn: true };
  }
  if (network) return { carried: "network" };
  if (!where) return { left: `no block device ${line.spec} on this system now: cannot tell whether it is on the target disk`, warn: true };
  if (where.kind === "target") return { left: `${where.device} is on the target disk ${facts.targetDisk}, which the migration rewrites: its data is gone unless carryOver.paths lists ${line.mountpoint}`, warn: true };
  if (where.kind === "no-disk") return { left: `no disk found under ${where.device}: cannot tell whether it is on the target disk`, warn: true };
  return { carried: "other-disk" };
}

function isProvided(mountPoint: string, facts: MountFacts): boolean {
  return (SYSTEM_MOUNTPOINTS as readonly string[]).includes(mountPoint) || facts.provided.includes(mountPoint);
}

function isDeviceSpec(spec: string): boolean {
  return /^(UUID|LABEL|PARTUUID|PARTLABEL)=/.test(spec) || spec.startsWith("/dev/");
}

type Where = { kind: "target" | "other-disk" | "no-disk"; device: string; disks: string[] };

function whereIs(spec: string, root: string, facts: MountFacts): Where | undefined {
  const device = deviceOf(spec, root, facts.devices);
  if (!device) return undefined;
  const disks = disksUnder(device, facts.devices);
  const kind = disks.length === 0 ? "no-disk" : disks.includes(facts.targetDisk) ? "target" : "other-disk";
  return { kind, device, disks };
}

/**
 * The lsblk path of an fstab spec, through the links udev makes for every device (what mount
 * itself resolves tags with): /dev/disk/by-uuid|label|partuuid|partlabel|id|path/…, /dev/VG/LV,
 * /dev/mapper/NAME; a device-mapper node (/dev/dm-N) is named by /sys/block/dm-N/dm/name.
 */
export function deviceOf(spec: string, root: string, devices: readonly DeviceNode[]): string | undefined {
  const tag = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.*)$/.exec(spec);
  const value = tag ? unquote(unescapeFstab(tag[2]!)) : undefined;
  const candidates = tag ? [value!, value!.toLowerCase()].map((v) => `/dev/disk/by-${tag[1]!.toLowerCase()}/${udevEncode(v)}`) : [unescapeFstab(spec)];
  for (const candidate of candidates) {
    const found = followLinks(candidate, root, devices);
    if (found) return found;
  }
  return undefined;
}

function followLinks(path: string, root: string, devices: readonly DeviceNode[]): string | undefined {
  let current = posix.normalize(path);
  for (let hop = 0; hop < 16; hop++) {
    if (devices.some((device) => device.path === current)) return current;
    const mapper = /^\/dev\/(dm-\d+)$/.exec(current) && readRootFile(root, `/sys/block/${current.slice("/dev/".length)}/dm/name`)?.trim();
    if (mapper) return followLinks(`/dev/mapper/${mapper}`, root, devices);
    const full = join(root, current);
    if (!isLink(full)) return undefined;
    const target = readlinkSync(full);
    current = posix.normalize(target.startsWith("/") ? target : posix.join(dirname(current), target));
  }
  return undefined;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** fstab(5) writes blanks in a field as octal escapes (\040). */
export function unescapeFstab(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

function unquote(value: string): string {
  return value.replace(/^"(.*)"$/, "$1");
}

/** udev's link names keep [A-Za-z0-9#+-.:=@_] and write any other byte as \xHH. */
function udevEncode(value: string): string {
  return [...Buffer.from(value, "utf8")].map((byte) => (/[A-Za-z0-9#+\-.:=@_]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`)).join("");
}

