import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JournalError } from "../errors/errors.ts";
import type { Log } from "../log/logger.ts";
import { loadManifest, type FileRef, type Manifest } from "../manifest/manifest.ts";
import { MANIFEST_FILE, PLAN_FILE, RESUME_STORE_DIR, type Paths } from "../paths.ts";
import { copyVerified } from "../payload/copy-verified.ts";
import { tmpfsSizeCommand } from "../plan/memory.ts";
import { logicalVolumeDevice, type MigrationPlan } from "../plan/plan.ts";
import type { Runner } from "../runner/runner.ts";
import type { PlanContext } from "../steps/step.ts";
import { writeFileAtomically } from "../disk/write-file-atomically.ts";
import { findTargetDisk, type RecordedDisk, retargetPlan } from "./target-disk.ts";

// The resume store: a directory on the resume LV of the NEW disk (docs/RESUME.md) holding what a
// run needs when the tiny system boots again after a power cut and RAM is gone: manifest, plan,
// partition table, rootfs archive, captured config, and the journal. `store.json` is written last
// (the commit marker) and lists every file with its SHA-256; a store without it is not a store.

export const STORE_META_FILE = "store.json";
export const STORE_JOURNAL_FILE = "journal.json";

export interface StoreMeta {
  format: 1;
  createdAt: string;
  /** The LV the store lives on, as planned. */
  device: string;
  /** The disk being migrated, with the GPT disk GUID partition-disk wrote: a resume finds it by this, whatever its name. */
  disk: RecordedDisk;
  /** Every file of the store except the journal (which changes), with size and digest. */
  files: (FileRef & { bytes: number })[];
}

export function storeDir(paths: Paths): string {
  return join(paths.resumeDir, RESUME_STORE_DIR);
}

export function storeJournalPath(paths: Paths): string {
  return join(storeDir(paths), STORE_JOURNAL_FILE);
}

export function storeMountCommand(ctx: PlanContext): string[] {
  const resume = ctx.plan.resume!;
  return ["mount", "-t", resume.type, resume.device, ctx.paths.resumeDir];
}

export function readStoreMeta(dir: string): StoreMeta | undefined {
  const path = join(dir, STORE_META_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const meta = JSON.parse(readFileSync(path, "utf8")) as StoreMeta;
    return meta.format === 1 && Array.isArray(meta.files) ? meta : undefined;
  } catch {
    return undefined;
  }
}

/** A store is complete when its commit marker names a manifest and a plan that are both there. */
export function isResumeStore(dir: string): boolean {
  const meta = readStoreMeta(dir);
  return Boolean(meta && [MANIFEST_FILE, PLAN_FILE].every((f) => meta.files.some((m) => m.file === f) && existsSync(join(dir, f))));
}

/** Writes the commit marker: temp file, fsync, rename, so it is either absent or whole. */
export function writeStoreMeta(dir: string, meta: StoreMeta): void {
  writeFileAtomically(join(dir, STORE_META_FILE), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o644 });
}

export interface FoundStore {
  device: string;
  fstype: string;
}

/**
 * Looks for a resume store without a manifest (after a power cut there is none in RAM and the old
 * root is gone): activate every VG, and mount each LV holding ext4 or xfs read-only at the resume
 * mountpoint until one holds a complete store. "back" LVs are tried first. The store stays mounted
 * (read-only) when found.
 */
export async function findResumeStore(run: Runner, log: Log, paths: Paths): Promise<FoundStore | undefined> {
  const readOnly = { readOnly: true, allowFailure: true };
  await run.run(["lvm", "vgchange", "--activate", "y"], readOnly);
  const listed = await run.run(["lvm", "lvs", "--noheadings", "--separator", "|", "--options", "vg_name,lv_name"], readOnly);
  const volumes = listed.stdout
    .split("\n")
    .map((line) => line.trim().split("|"))
    .filter((fields): fields is [string, string] => fields.length === 2 && Boolean(fields[0]) && Boolean(fields[1]))
    .sort(([, a], [, b]) => Number(b === "back") - Number(a === "back"));
  for (const [vg, lv] of volumes) {
    const device = logicalVolumeDevice(vg, lv);
    const fstype = (await run.run(["blkid", "-s", "TYPE", "-o", "value", device], readOnly)).stdout.trim();
    if (fstype !== "ext4" && fstype !== "xfs") continue;
    mkdirSync(paths.resumeDir, { recursive: true });
    const mounted = await run.run(["mount", "-o", "ro", "-t", fstype, device, paths.resumeDir], readOnly);
    if (mounted.status !== 0) continue;
    if (isResumeStore(storeDir(paths))) {
      log.info(`resume store found on ${device}`);
      return { device, fstype };
    }
    await run.run(["umount", paths.resumeDir], readOnly);
  }
  return undefined;
}

/**
 * Continues a migration from the store after a reboot: manifest and plan are verified against the
 * digests the store recorded while they are copied back to RAM, the journal comes back too, and
 * the store is remounted read-write for the journal's later saves (and for a file an operator puts
 * back). The payload files are restored by the caller: only those the remaining steps read. In
 * dry-run mode (`va-agent plan`) only the manifest and plan are read, and the store is unmounted again.
 */
export async function resumeFromStore(run: Runner, log: Log, paths: Paths): Promise<{ manifest: Readonly<Manifest>; plan: MigrationPlan; meta: StoreMeta }> {
  const dir = storeDir(paths);
  const meta = readStoreMeta(dir)!;
  // Before anything is written: the disk may have another kernel name in this boot, or be missing.
  const disk = await findTargetDisk(run, log, meta.disk);
  if (run.dryRun) {
    try {
      return { manifest: loadManifest(join(dir, MANIFEST_FILE)), plan: retargetPlan(JSON.parse(readFileSync(join(dir, PLAN_FILE), "utf8")), disk), meta };
    } finally {
      await run.run(["umount", paths.resumeDir], { readOnly: true, allowFailure: true });
    }
  }
  await run.run(["mount", "-o", "remount,rw", paths.resumeDir]);
  const storedPlan: MigrationPlan = JSON.parse(readFileSync(join(dir, PLAN_FILE), "utf8"));
  await run.run(tmpfsSizeCommand(storedPlan.memory));
  mkdirSync(paths.payloadDir, { recursive: true });
  for (const file of meta.files.filter((f) => f.file === MANIFEST_FILE || f.file === PLAN_FILE)) {
    await copyVerified(join(dir, file.file), storeFileInRam(paths, file.file), file, damagedStoreRemedy(meta, paths, file.file, "the agent cannot know the plan without it"));
  }
  const journal = join(dir, STORE_JOURNAL_FILE);
  if (!existsSync(journal)) {
    throw new JournalError(
      `the resume store on ${meta.device} has no journal`,
      `The disk is mid-migration: the point of no return is passed and the old system cannot boot again; the resume store is mounted at ${paths.resumeDir}. ` +
        "Without its journal the agent cannot know which steps are finished: finish by hand with `va-agent step NAME` for each step the log does not show done, or reinstall the box from installation media.",
    );
  }
  copyFileSync(journal, paths.journalFile);
  log.info(`resuming from the store on ${meta.device} (created ${meta.createdAt})`);
  const plan = retargetPlan(JSON.parse(readFileSync(join(paths.workDir, PLAN_FILE), "utf8")), disk);
  writeFileSync(join(paths.workDir, PLAN_FILE), JSON.stringify(plan, null, 2));
  return { manifest: loadManifest(join(paths.payloadDir, MANIFEST_FILE)), plan, meta };
}

/** Where a store file goes in RAM: the plan to the work dir, everything else to the payload dir. */
export function storeFileInRam(paths: Paths, file: string): string {
  return file === PLAN_FILE ? join(paths.workDir, PLAN_FILE) : join(paths.payloadDir, file);
}

/** A store file is damaged after the point of no return: what is intact, and how to put the file back. */
export function damagedStoreRemedy(meta: StoreMeta, paths: Paths, file: string, why: string): string {
  return (
    `The disk is mid-migration: the point of no return is passed and the old system cannot boot again; the new layout and the resume store on ${meta.device} are in place, ` +
    `but the store's copy of ${file} is damaged and ${why}. Copy an intact ${file} (from the bundle: \`tar -xf BUNDLE ${file}\`, on removable media) ` +
    `to ${join(storeDir(paths), file)} (mounted read-write), then run \`va-agent migrate\` or reboot; or reinstall the box from installation media.`
  );
}
