import { describeDisk, describeIdentity, type DiskIdentity, disksMatching } from "../disk/disk-identity.ts";
import { renameDiskDevice } from "../disk/partition-device.ts";
import { TargetDiskError } from "../errors/errors.ts";
import type { Log } from "../log/logger.ts";
import type { BlockDevice } from "../machine/machine.ts";
import { listBlockDevices } from "../disk/lsblk.ts";
import type { MigrationPlan } from "../plan/plan.ts";
import type { Runner } from "../runner/runner.ts";

/** The disk being migrated as an earlier boot recorded it: its kernel name then, and what identifies it. */
export interface RecordedDisk {
  path: string;
  identity: DiskIdentity;
}

/**
 * A resume after a reboot: the one disk of this boot's probe that is the recorded disk, whatever
 * its name now. None or several: refused before anything is written (exit 4).
 */
export function resolveTargetDisk(recorded: RecordedDisk, devices: readonly BlockDevice[]): BlockDevice {
  const matches = disksMatching(recorded.identity, devices);
  if (matches.length === 1) return matches[0]!;
  const seen = devices.filter((device) => device.type === "disk").map(describeDisk);
  const wanted = `the disk being migrated (${describeIdentity(recorded.identity)}; it was ${recorded.path})`;
  const what = matches.length === 0 ? `no disk of this boot is ${wanted}` : `${matches.length} disks of this boot match ${wanted}: ${matches.map((d) => d.path).join(", ")}`;
  throw new TargetDiskError(
    `${what}; disks seen: ${seen.join("; ") || "none"}`,
    "The disk is mid-migration: the point of no return is passed and the old system cannot boot again; nothing was written in this boot. " +
      (matches.length === 0
        ? "Attach the disk, or power off and check its cabling and controller, then boot again: the migration goes on with the disk that matches, whatever its name."
        : "Power off, detach every disk but the one being migrated (or the copy of it), then boot again: the agent will not guess which one to write."),
    { recorded: recorded.path, identity: recorded.identity, matches: matches.map((d) => d.path) },
  );
}

/** Probes the disks (lsblk, read-only) and resolves the recorded disk against them. */
export async function findTargetDisk(run: Runner, log: Log, recorded: RecordedDisk): Promise<string> {
  const disk = resolveTargetDisk(recorded, await listBlockDevices(run));
  if (disk.path !== recorded.path) log.warn(`the disk being migrated was ${recorded.path} and is ${disk.path} in this boot; going on with ${disk.path}`);
  return disk.path;
}

/** The plan with every device of its disk (the disk, its partitions, old and new) under the disk's name of this boot. */
export function retargetPlan(plan: MigrationPlan, diskPath: string): MigrationPlan {
  return renameDeep(plan, plan.disk.path, diskPath);
}

/** Every string in `value` that names the disk `from` or one of its partitions, renamed to `to`. */
export function renameDeep<T>(value: T, from: string, to: string): T {
  if (from === to) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return renameDiskDevice(v, from, to);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([key, inner]) => [key, walk(inner)]));
    return v;
  };
  return walk(value) as T;
}

export function recordedDisk(plan: MigrationPlan): RecordedDisk {
  return { path: plan.disk.path, identity: plan.disk.identity };
}
