import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JournalError } from "../errors/errors.ts";
import type { Log } from "../log/logger.ts";
import { parseManifest, type Manifest } from "../manifest/manifest.ts";
import { MANIFEST_FILE, PLAN_FILE, type Paths } from "../paths.ts";
import { copyRangesVerified, isIntact } from "../payload/copy-verified.ts";
import { tmpfsSizeCommand } from "../plan/memory.ts";
import type { MigrationPlan } from "../plan/plan.ts";
import type { Runner } from "../runner/runner.ts";

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
  const actual = createHash("sha256").update(bytes).digest("hex");
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
  log.info(`resuming from the staged files on ${location.disk} (a power cut interrupted the repartitioning)`);
  const sectors = await run.readSectors(location.disk, location.lba, Math.ceil(location.bytes / 512));
  const { plan, manifest } = decodeStagedMap(sectors.subarray(0, location.bytes), location);
  if (!("plan" in plan.stagedBoot)) throw new JournalError("the staged map holds a plan without staged files", "Boot a rescue system (docs/RESUME.md).");
  await run.run(tmpfsSizeCommand(plan.memory));
  mkdirSync(paths.payloadDir, { recursive: true });
  for (const file of plan.stagedBoot.plan.files) {
    const destination = join(paths.payloadDir, file.file);
    if (await isIntact(destination, file)) continue;
    await copyRangesVerified(run, location.disk, file.ranges, destination, file, stagedFileRemedy(location.disk, file.file, paths), log.progress(`reading staged ${file.file}`));
  }
  writeFileSync(join(paths.payloadDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
  writeFileSync(join(paths.workDir, PLAN_FILE), JSON.stringify(plan, null, 2));
  return true;
}

/** Booted by the staged boot code, so past the point of no return: the old system cannot come back. */
function stagedFileRemedy(disk: string, file: string, paths: Paths): string {
  return (
    `The disk ${disk} is mid-migration: the point of no return is passed, the old system cannot boot again, and the migration ` +
    `cannot start over from the staged files while ${file} read from its sectors is damaged. Copy an intact ${file} (from the bundle: ` +
    `\`tar -xf BUNDLE ${file}\`, on removable media) to ${join(paths.payloadDir, file)} from this shell, then run \`va-agent migrate\`; ` +
    "or reinstall the box from installation media."
  );
}
