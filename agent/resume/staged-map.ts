import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JournalError, TargetDiskError } from "../errors/errors.ts";
import type { Log } from "../log/logger.ts";
import { parseManifest, type Manifest } from "../manifest/manifest.ts";
import { MANIFEST_FILE, PLAN_FILE, type Paths } from "../paths.ts";
import { copyRangesVerified, isIntact } from "../payload/copy-verified.ts";
import { tmpfsSizeCommand } from "../plan/memory.ts";
import type { MigrationPlan } from "../plan/plan.ts";
import type { Runner } from "../runner/runner.ts";
import { describeDisk } from "../disk/disk-identity.ts";
import type { BlockDevice } from "../machine/machine.ts";
import { listBlockDevices } from "../disk/lsblk.ts";
import { recordedDisk, resolveTargetDisk, retargetPlan } from "./target-disk.ts";

/**
 * The staged map: plan and manifest, written next to the staged boot code before the point of no
 * return. The plan lists every staged file with its disk sectors and SHA-256, so a tiny system
 * booted from the staged boot code (`va.staged-map=` on its command line) can rebuild its RAM state
 * from the disk alone and start the migration over (docs/RESUME.md, window A).
 */
const MAGIC = "va-agent staged map 1\n";
export const STAGED_MAP_ARG = "va.staged-map";

export interface StagedMapLocation {
  disk: string;
  lba: number;
  bytes: number;
  sha256: string;
}

export function encodeStagedMap(plan: MigrationPlan, manifest: Readonly<Manifest>): Buffer {
  return Buffer.from(MAGIC + JSON.stringify({ plan, manifest }));
}

export function stagedMapArg(location: StagedMapLocation): string {
  return `${STAGED_MAP_ARG}=${location.disk}:${location.lba}:${location.bytes}:${location.sha256}`;
}

export function parseStagedMapArg(cmdline: string): StagedMapLocation | undefined {
  const m = /(?:^|\s)va\.staged-map=(\/dev\/[^\s:]+):(\d+):(\d+):([0-9a-f]{64})(?:\s|$)/.exec(cmdline);
  return m ? { disk: m[1]!, lba: Number(m[2]), bytes: Number(m[3]), sha256: m[4]! } : undefined;
}

export function decodeStagedMap(bytes: Buffer, location: Pick<StagedMapLocation, "sha256">): { plan: MigrationPlan; manifest: Readonly<Manifest> } {
  const actual = sha256(bytes);
  if (actual !== location.sha256 || !bytes.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) {
    throw new JournalError(
      `the staged map on disk is damaged (SHA-256 ${actual}, the boot entry expects ${location.sha256})`,
      "Boot a rescue system; the staged files are still on the disk (docs/RESUME.md, manual recovery of window A).",
    );
  }
  const { plan, manifest } = JSON.parse(bytes.subarray(MAGIC.length).toString("utf8"));
  return { plan, manifest: parseManifest(manifest) };
}

/**
 * Booted by the staged boot code after a power cut in window A: reads the staged map and every
 * staged file from their sectors into RAM, verifying SHA-256, and saves plan and manifest where
 * prepare() finds them. Returns false when this boot is not a staged-boot resume.
 */
export async function restoreFromStagedMap(run: Runner, log: Log, paths: Paths, cmdline: string): Promise<boolean> {
  const location = parseStagedMapArg(cmdline);
  if (!location || existsSync(join(paths.workDir, PLAN_FILE))) return false;
  const devices = await listBlockDevices(run);
  const found = await readStagedMap(run, location, devices);
  const decoded = decodeStagedMap(found.bytes, location);
  // The map names the disk by its kernel name when it was written; this boot may name it otherwise.
  const disk = resolveTargetDisk(recordedDisk(decoded.plan), devices).path;
  if (disk !== found.disk) throw new TargetDiskError(`the staged map is on ${found.disk}, but the disk it describes is ${disk} in this boot`, STAGED_MAP_DISAGREES);
  const plan = retargetPlan(decoded.plan, disk);
  const { manifest } = decoded;
  log.info(`resuming from the staged files on ${disk} (a power cut interrupted the repartitioning)`);
  if (!("plan" in plan.stagedBoot)) throw new JournalError("the staged map holds a plan without staged files", "Boot a rescue system (docs/RESUME.md).");
  await run.run(tmpfsSizeCommand(plan.memory));
  mkdirSync(paths.payloadDir, { recursive: true });
  for (const file of plan.stagedBoot.plan.files) {
    const destination = join(paths.payloadDir, file.file);
    if (await isIntact(destination, file)) continue;
    await copyRangesVerified(run, disk, file.ranges, destination, file, stagedFileRemedy(disk, file.file, paths), log.progress(`reading staged ${file.file}`));
  }
  writeFileSync(join(paths.payloadDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
  writeFileSync(join(paths.workDir, PLAN_FILE), JSON.stringify(plan, null, 2));
  return true;
}

const STAGED_MAP_DISAGREES =
  "The disk is mid-migration: the point of no return is passed and the old system cannot boot again; nothing was written in this boot. " +
  "Power off, detach every disk but the one being migrated, then boot again.";

/**
 * The staged map's sectors, from the disk the command line names or, when that name went to another
 * disk in this boot, from the disk where they hash to the map's SHA-256 (reads only).
 */
async function readStagedMap(run: Runner, location: StagedMapLocation, devices: readonly BlockDevice[]): Promise<{ disk: string; bytes: Buffer }> {
  const disks = devices.filter((device) => device.type === "disk").map((device) => device.path);
  const first = await readMapFrom(run, location.disk, location);
  if (first && sha256(first) === location.sha256) return { disk: location.disk, bytes: first };
  for (const disk of disks.filter((path) => path !== location.disk)) {
    const bytes = await readMapFrom(run, disk, location);
    if (bytes && sha256(bytes) === location.sha256) return { disk, bytes };
  }
  throw new TargetDiskError(
    `the staged map (${location.bytes} bytes at LBA ${location.lba} of ${location.disk} when it was written, SHA-256 ${location.sha256}) is on none of the disks of this boot: ${devices.filter((d) => d.type === "disk").map(describeDisk).join("; ") || "none"}`,
    "The disk is mid-migration: the point of no return is passed and the old system cannot boot again; nothing was written in this boot. " +
      "Attach the disk, or power off and check its cabling and controller, then boot again. If the disk is attached, its staged map is damaged: boot a rescue system (docs/RESUME.md, manual recovery of window A).",
  );
}

async function readMapFrom(run: Runner, disk: string, location: StagedMapLocation): Promise<Buffer | undefined> {
  try {
    return (await run.readSectors(disk, location.lba, Math.ceil(location.bytes / 512))).subarray(0, location.bytes);
  } catch {
    return undefined; // a disk too small, or gone
  }
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Booted by the staged boot code, so past the point of no return: the old system cannot come back. */
function stagedFileRemedy(disk: string, file: string, paths: Paths): string {
  return (
    `The disk ${disk} is mid-migration: the point of no return is passed, the old system cannot boot again, and the migration ` +
    `cannot start over from the staged files while ${file} read from its sectors is damaged. Copy an intact ${file} (from the bundle: ` +
    `\`tar -xf BUNDLE ${file}\`, on removable media) to ${join(paths.payloadDir, file)} from this shell, then run \`va-agent migrate\`; ` +
    "or reinstall the box from installation media."
  );
}
