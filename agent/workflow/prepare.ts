import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSgdiskBackup } from "../disk/gpt-backup.ts";
import { ensureMounted } from "../disk/mounts.ts";
import type { Log } from "../log/logger.ts";
import { findOldSystem } from "../machine/find-old-system.ts";
import type { OldSystem, RootCandidate } from "../machine/machine.ts";
import { probeStagedFiles } from "../resume/probe-staged-files.ts";
import type { StagedFilesProbe } from "../resume/staged-boot.ts";
import { probeMachine } from "../machine/probe.ts";
import { loadManifest, type Manifest } from "../manifest/manifest.ts";
import type { StagedTrust } from "../manifest/staged-trust.ts";
import { loadSignedStagedManifest } from "../bundle/staged-manifest.ts";
import { requireProductAndRelease } from "../preflight/product-check.ts";
import { readInstalledProduct } from "../product/installed-product.ts";
import { CARRY_OVER_ARCHIVE_FILE } from "../carry-over/captured-config.ts";
import { checkStagedWhereManifestSays } from "../manifest/staging-dir.ts";
import { CAPTURED_CONFIG_FILE, MANIFEST_FILE, PLAN_FILE, type Paths } from "../paths.ts";
import { archiveCheckOf } from "../payload/archive-check.ts";
import { copyVerified, RESTAGE_REMEDY } from "../payload/copy-verified.ts";
import { type MigrationPlan, planMigration } from "../plan/plan.ts";
import type { Runner } from "../runner/runner.ts";
import { findResumeStore, resumeFromStore } from "../resume/store.ts";
import { restorePayloadFromStore } from "../resume/restore-from-store.ts";
import { parseStagedMapArg, restoreFromStagedMap } from "../resume/staged-map.ts";
import { runningCmdline } from "../bootloader/resume-entry.ts";

export interface Prepared {
  manifest: Readonly<Manifest>;
  plan: MigrationPlan;
  resumed: boolean;
}

/**
 * Probes the machine, reads the manifest and partition table staged on the old root (read-only)
 * and computes the plan. A plan saved by an earlier run in this boot is reused: after the point
 * of no return the old root it was computed from no longer exists. After a reboot (RAM lost) the
 * resume store on the new disk brings plan, manifest, payload and journal back (docs/RESUME.md);
 * it is looked for before probing, since the probe would take the new root for an old system.
 * Booted by the staged boot code (window A), plan and payload come from the staged map first.
 */
/**
 * How far prepare got, for a failure's caller (agent/workflow/migrate-or-hand-back.ts): whether it was
 * resuming (a staged-boot resume, a saved plan, the store: past the point of no return), and the old
 * root once the probe found it (where a hand-back saves the journal).
 */
export interface PrepareProgress {
  resuming: boolean;
  oldRoot?: RootCandidate;
}

/**
 * `stagingDir`: where to look for the staged manifest on the old root (stagingDirToSearch); the steps then use the manifest's.
 * `trust`: the keyring and the operator's decisions the staged manifest is judged by on a first run.
 * A resume trusts its own copies: the one in RAM came from a verified manifest in this boot, the
 * store's is checked against the digests of the store's commit record, written by this agent after
 * it had verified the signature (a refusal there, past the point of no return, would only strand the box).
 */
export async function prepare(run: Runner, log: Log, paths: Paths, stagingDir: string, trust: StagedTrust, progress: PrepareProgress = { resuming: false }): Promise<Prepared> {
  const savedPlan = join(paths.workDir, PLAN_FILE);
  const stagedManifest = join(paths.payloadDir, MANIFEST_FILE);
  const cmdline = runningCmdline();
  progress.resuming = parseStagedMapArg(cmdline) !== undefined;
  await restoreFromStagedMap(run, log, paths, cmdline);
  if (existsSync(savedPlan) && existsSync(stagedManifest)) {
    progress.resuming = true;
    log.info("resuming with the plan saved by an earlier run");
    return { manifest: loadManifest(stagedManifest), plan: JSON.parse(readFileSync(savedPlan, "utf8")), resumed: true };
  }
  if (await findResumeStore(run, log, paths)) {
    progress.resuming = true;
    const stored = await resumeFromStore(run, log, paths);
    if (!run.dryRun) await restorePayloadFromStore(log, paths, stored);
    return { manifest: stored.manifest, plan: stored.plan, resumed: true };
  }
  const machine = await probeMachine(run, log, { stagingDir, mountpoint: paths.probeMount });
  const oldSystem = findOldSystem(machine);
  progress.oldRoot = oldSystem.root;
  log.info(`old system: ${oldSystem.root.osRelease.PRETTY_NAME ?? "?"} on ${oldSystem.root.device} (disk ${oldSystem.disk.path})`);
  const { manifest, stagedFiles, carriedBytes } = await readStagedFiles(run, log, paths, { stagingDir, trust }, oldSystem);
  const layout = parseSgdiskBackup(readFileSync(join(paths.payloadDir, manifest.target.partitionTable.file)));
  const plan = planMigration(manifest, layout, machine, stagedFiles, carriedBytes, archiveCheckOf(cmdline));
  if ("openBecause" in plan.stagedBoot) log.warn(`window A stays open: ${plan.stagedBoot.openBecause}`);
  if (!run.dryRun) writeFileSync(savedPlan, JSON.stringify(plan, null, 2));
  return { manifest, plan, resumed: false };
}

/**
 * Judges the staged manifest (signature, product and release: the rules stage applied), then copies
 * manifest and layout from the old root (read-only) and maps the staged files to disk sectors.
 */
async function readStagedFiles(
  run: Runner,
  log: Log,
  paths: Paths,
  { stagingDir, trust }: { stagingDir: string; trust: StagedTrust },
  oldSystem: OldSystem,
): Promise<{ manifest: Readonly<Manifest>; stagedFiles: StagedFilesProbe; carriedBytes: number }> {
  const root = oldSystem.root;
  await ensureMounted(run, ["mount", "-o", "ro", "-t", root.fstype, root.device, paths.oldRootMount], { readOnly: true });
  try {
    const staged = join(paths.oldRootMount, stagingDir);
    const { manifest, bytes } = loadSignedStagedManifest(staged, trust, log);
    checkStagedWhereManifestSays(manifest, stagingDir);
    log.info(requireProductAndRelease(readInstalledProduct(paths.oldRootMount), manifest.product, trust.allowDowngrade).finding);
    const table = manifest.target.partitionTable;
    mkdirSync(paths.payloadDir, { recursive: true });
    await copyVerified(join(staged, table.file), join(paths.payloadDir, table.file), table, RESTAGE_REMEDY);
    writeFileSync(join(paths.payloadDir, MANIFEST_FILE), bytes);
    return { manifest, stagedFiles: await probeStagedFiles(run, log, manifest, oldSystem, staged), carriedBytes: carriedBytesIn(staged) };
  } finally {
    await run.run(["umount", paths.oldRootMount], { readOnly: true, allowFailure: true });
  }
}

/** The captured config and carry-over archive go to RAM with the payload; their size is known only here. */
function carriedBytesIn(staged: string): number {
  return [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE].reduce((sum, file) => sum + (existsSync(join(staged, file)) ? statSync(join(staged, file)).size : 0), 0);
}
