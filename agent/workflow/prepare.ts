import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSgdiskBackup } from "../disk/gpt-backup.ts";
import { ensureMounted } from "../disk/mounts.ts";
import type { Log } from "../log/logger.ts";
import { findOldSystem } from "../machine/find-old-system.ts";
import { probeMachine } from "../machine/probe.ts";
import { loadManifest, type Manifest } from "../manifest/manifest.ts";
import { MANIFEST_FILE, PLAN_FILE, type Paths } from "../paths.ts";
import { copyVerified } from "../payload/copy-verified.ts";
import { type MigrationPlan, planMigration } from "../plan/plan.ts";
import type { Runner } from "../runner/runner.ts";
import { findResumeStore, resumeFromStore } from "./resume-store.ts";

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
 */
export async function prepare(run: Runner, log: Log, paths: Paths, stagingDir: string): Promise<Prepared> {
  const savedPlan = join(paths.workDir, PLAN_FILE);
  const stagedManifest = join(paths.payloadDir, MANIFEST_FILE);
  if (existsSync(savedPlan) && existsSync(stagedManifest)) {
    log.info("resuming with the plan saved by an earlier run");
    return { manifest: loadManifest(stagedManifest), plan: JSON.parse(readFileSync(savedPlan, "utf8")), resumed: true };
  }
  if (await findResumeStore(run, log, paths)) return { ...(await resumeFromStore(run, log, paths)), resumed: true };
  const machine = await probeMachine(run, log, { stagingDir, mountpoint: paths.probeMount });
  const oldSystem = findOldSystem(machine);
  log.info(`old system: ${oldSystem.root.osRelease.PRETTY_NAME ?? "?"} on ${oldSystem.root.device} (disk ${oldSystem.disk.path})`);
  const manifest = await copyManifestAndLayout(run, paths, stagingDir, oldSystem.root);
  const layout = parseSgdiskBackup(readFileSync(join(paths.payloadDir, manifest.target.partitionTable.file)));
  const plan = planMigration(manifest, layout, machine);
  if (!run.dryRun) writeFileSync(savedPlan, JSON.stringify(plan, null, 2));
  return { manifest, plan, resumed: false };
}

async function copyManifestAndLayout(
  run: Runner,
  paths: Paths,
  stagingDir: string,
  root: { device: string; fstype: string },
): Promise<Readonly<Manifest>> {
  mkdirSync(paths.payloadDir, { recursive: true });
  await ensureMounted(run, ["mount", "-o", "ro", "-t", root.fstype, root.device, paths.oldRootMount], { readOnly: true });
  try {
    const staged = join(paths.oldRootMount, stagingDir);
    const manifest = loadManifest(join(staged, MANIFEST_FILE));
    const table = manifest.target.partitionTable;
    await copyVerified(join(staged, table.file), join(paths.payloadDir, table.file), table);
    copyFileSync(join(staged, MANIFEST_FILE), join(paths.payloadDir, MANIFEST_FILE));
    return manifest;
  } finally {
    await run.run(["umount", paths.oldRootMount], { readOnly: true, allowFailure: true });
  }
}
