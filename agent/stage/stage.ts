import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { clearNextEntry } from "../bootloader/grubenv.ts";
import type { OldBootloader } from "../bootloader/one-time-boot.ts";
import { tinyBootFiles } from "../bootloader/tiny-boot-files.ts";
import { extractBundle } from "../bundle/extract.ts";
import { readSignedMember } from "../bundle/read-member.ts";
import type { BundleOptions } from "../bundle/signed-manifest.ts";
import { captureForStage, writeStagedConfig } from "../carry-over/capture-config.ts";
import type { MountFacts } from "../carry-over/capture-mounts.ts";
import { managementInterfaces } from "../carry-over/cross-check-live.ts";
import { checkCarriedAccounts, checkCarriedMounts, checkCarriedNetwork } from "../preflight/carry-over-checks.ts";
import { carryOverReport, type CarryOverReportJson } from "../preflight/carry-over-report.ts";
import type { StageFacts } from "../preflight/stage-facts.ts";
import { parseSgdiskBackup } from "../disk/gpt-backup.ts";
import { ManifestError, PreflightError } from "../errors/errors.ts";
import { warnLoudly, type Log } from "../log/logger.ts";
import { stagedTrustArgs } from "../manifest/staged-trust.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { stagingDirOf } from "../manifest/staging-dir.ts";
import { archiveCheckArgs, deferredArchiveCheck } from "../payload/archive-check.ts";
import { lintBundledRootfs } from "../payload/bundled-rootfs-lint.ts";
import type { PreflightCheck } from "../preflight/check.ts";
import { runChecks } from "../preflight/checks.ts";
import { probeStageFacts } from "../preflight/probe-old-system.ts";
import { hasInhibitors } from "../preflight/report.ts";
import { checkPayloadFstab } from "../preflight/payload-fstab-check.ts";
import { ACCEPT_OPEN_WINDOW_FLAG, openWindowCheck } from "../preflight/staged-kernel-check.ts";
import type { Runner } from "../runner/runner.ts";
import { makeKernelContiguous } from "./contiguous-kernel.ts";
import { installTinySystem } from "./install-tiny-system.ts";
import { probeOldBootloader } from "./old-bootloader.ts";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";

export interface StageOptions extends BundleOptions {
  bundle: string;
  root: string;
  /** Called with the pre-flight report before anything is changed. */
  onReport: (checks: PreflightCheck[]) => void;
  /** Arm the migration even when the staged kernel cannot be booted by sectors (window A open). */
  acceptOpenWindow?: boolean;
  /** Stage a release older than the installed one (the tiny system is told on its entry). */
  allowDowngrade?: boolean;
  /** Called with the bundle's warnings (an unverified signature) as soon as it is read. */
  onWarnings?: (warnings: string[]) => void;
  /** The address the operator reaches the box on (the web UI's): its interface is a management interface. */
  reachedVia?: string;
  /** Called with what will be carried, with the pre-flight report and again once the payload's accounts are judged. */
  onCarryOver?: (report: CarryOverReportJson) => void;
}

export interface StageResult {
  manifest: Readonly<Manifest>;
  warnings: string[];
  stagingDir: string;
  checks: PreflightCheck[];
  carryOver: CarryOverReportJson;
}

/**
 * On the old system: verify the bundle, run pre-flight, and only when nothing inhibits, write the
 * payload and captured config to the staging directory and arm a one-time boot into the tiny system.
 */
export async function stageBundle(run: Runner, log: Log, options: StageOptions): Promise<StageResult> {
  const { head, bytes } = await readSignedMember(options.bundle, (h) => h.manifest.target.partitionTable, options);
  const manifest = head.manifest;
  for (const warning of head.warnings) warnLoudly(log, warning);
  options.onWarnings?.(head.warnings);
  requireTinySystem(manifest);
  const stagingDir = join(options.root, stagingDirOf(manifest));
  const facts = await probeStageFacts({ run, log, root: options.root, manifest });
  const allowDowngrade = options.allowDowngrade ?? false;
  // Read-only, before the report: what cannot be carried is part of it.
  const capture = await captureForStage({ root: options.root, run, log, manifest, mountFacts: mountFactsOf(facts, manifest) });
  const management = manifest.carryOver.network === false ? undefined : managementInterfaces(capture.config.interfaces, capture.live, options.reachedVia);
  const checks = [
    ...runChecks(facts, manifest, parseSgdiskBackup(bytes, manifest.target.partitionTable.file), { allowDowngrade }),
    checkCarriedNetwork(capture.config, management, manifest),
    checkCarriedMounts(capture),
  ];
  options.onReport(checks);
  let carryOver = carryOverReport(capture, manifest, management, undefined);
  options.onCarryOver?.(carryOver);
  if (hasInhibitors(checks)) {
    const ids = checks.filter((c) => c.severity === "inhibitor").map((c) => c.id);
    throw new PreflightError(`pre-flight found ${ids.length} inhibitor(s): ${ids.join(", ")}`, "Resolve each inhibitor as the report says, then stage again; nothing was changed.", { inhibitors: ids });
  }
  const boot = await probeOldBootloader(run, options.root);
  // Streamed from the bundle before anything is written: a refused payload leaves the old system as it was.
  const rootfs = await lintBundledRootfs(run, options.bundle, options);
  if (rootfs.archiveCheck === "at-stage") {
    log.info(`payload archive checked: ${rootfs.lint.members} members, kernel ${rootfs.lint.kernels.join(", ")}`);
    requireResolvableFstab(log, checkPayloadFstab(rootfs.lint.fstab, manifest), checks);
  } else {
    // The tiny system's check-payload-archive makes these checks, with its own xz.
    const deferred = deferredArchiveCheck();
    checks.push(deferred);
    log.warn(`${deferred.title}: ${deferred.finding}`);
  }
  const accounts = checkCarriedAccounts(capture.config, rootfs.archiveCheck === "at-stage" ? rootfs.lint : undefined);
  carryOver = carryOverReport(capture, manifest, management, accounts.plan);
  options.onCarryOver?.(carryOver);
  requireLateCheck(log, accounts.check, checks);
  log.info(`writing the verified bundle to ${stagingDir}`);
  const stagingExisted = existsSync(stagingDir);
  await extractBundle(options.bundle, stagingDir, { ...options, progress: (label) => log.progress(label) }).catch((error: unknown) => {
    if (!stagingExisted) rmSync(stagingDir, { recursive: true, force: true });
    throw error;
  });
  const undo = undoRecord(options.root, boot, stagingExisted ? undefined : stagingDir);
  try {
    await requireBootableStagedKernel(run, log, join(stagingDir, manifest.tinySystem!.kernel.file), checks, options.acceptOpenWindow ?? false);
    await writeStagedConfig({ root: options.root, run, stagingDir }, capture.config);
    const entryArgs = [...stagedTrustArgs({ insecure: head.signature.insecure, allowDowngrade }), ...archiveCheckArgs(rootfs.archiveCheck)];
    await installTinySystem({ run, log, root: options.root, stagingDir, manifest, boot, entryArgs });
  } catch (error) {
    undoStaging(undo);
    log.warn("staging undone: the payload, the tiny system on /boot and the one-time entry are removed again");
    throw error;
  }
  recordStaged(options.root, manifest);
  return { manifest, warnings: head.warnings, stagingDir, checks, carryOver };
}

/** Mounts are judged against the probed disk tree; without one target disk (an inhibitor already) none is carried. */
function mountFactsOf(facts: StageFacts, manifest: Readonly<Manifest>): MountFacts | undefined {
  if (!facts.rootDisk) return undefined;
  return { targetDisk: facts.rootDisk.path, devices: facts.blockDevices, provided: manifest.filesystems.flatMap((fs) => (fs.mountpoint ? [fs.mountpoint] : [])) };
}

/**
 * The staged boot needs the tiny kernel in one piece. Still in pieces after the rewrites: refuse
 * to arm (the caller undoes the staging), or, when the operator accepted it, say so in the report.
 */
async function requireBootableStagedKernel(run: Runner, log: Log, kernel: string, checks: PreflightCheck[], accepted: boolean): Promise<void> {
  const pieces = await makeKernelContiguous(run, log, kernel);
  if (pieces === undefined || pieces <= 1) return;
  const check = openWindowCheck(pieces, accepted);
  checks.push(check);
  if (accepted) {
    log.warn(`${check.finding}; accepted with ${ACCEPT_OPEN_WINDOW_FLAG}`);
    return;
  }
  throw new PreflightError(`pre-flight found 1 inhibitor(s): ${check.id}: ${check.finding}`, `${check.remedy} The staging was undone: nothing was changed.`, { inhibitors: [check.id] });
}

/** Read from the archive after the report was printed: a late finding, refused before anything is written. */
function requireResolvableFstab(log: Log, check: PreflightCheck, checks: PreflightCheck[]): void {
  if (check.severity !== "ok") requireLateCheck(log, check, checks);
}

/** A finding made after the report was printed joins it; an inhibitor stops stage before anything is written. */
function requireLateCheck(log: Log, check: PreflightCheck, checks: PreflightCheck[]): void {
  checks.push(check);
  if (check.severity === "inhibitor") throw new PreflightError(`pre-flight found 1 inhibitor(s): ${check.id}: ${check.finding}`, check.remedy, { inhibitors: [check.id] });
  if (check.severity === "warning") log.warn(`${check.title}: ${check.finding}`);
}

interface UndoRecord {
  /** The staging directory, when stage created it. */
  stagingDir?: string;
  /** The tiny system's directory on /boot. */
  tinyDir: string;
  customCfg: { path: string; before: string | null };
  grubenv: string;
}

function undoRecord(root: string, boot: OldBootloader, stagingDir: string | undefined): UndoRecord {
  const customCfg = join(root, boot.grubDir, "custom.cfg");
  return {
    ...(stagingDir ? { stagingDir } : {}),
    tinyDir: tinyBootFiles(join(root, "boot")).dir,
    customCfg: { path: customCfg, before: existsSync(customCfg) ? readFileSync(customCfg, "utf8") : null },
    grubenv: join(root, boot.grubDir, "grubenv"),
  };
}

/**
 * A stage that failed after writing leaves the old system as it found it. A grub.cfg regenerated
 * to source custom.cfg stays: it is the old system's own config, made by its own grub-mkconfig.
 */
function undoStaging(undo: UndoRecord): void {
  clearNextEntry(undo.grubenv);
  if (undo.customCfg.before === null) rmSync(undo.customCfg.path, { force: true });
  else writeFileAtomically(undo.customCfg.path, undo.customCfg.before, modeAndOwnerOf(undo.customCfg.path, 0o644));
  rmSync(undo.tinyDir, { recursive: true, force: true });
  if (undo.stagingDir) rmSync(undo.stagingDir, { recursive: true, force: true });
}

function requireTinySystem(manifest: Readonly<Manifest>): void {
  if (!manifest.tinySystem) {
    throw new ManifestError("the bundle's manifest has no tinySystem (kernel and initramfs)", "Rebuild the bundle with the tiny system's kernel and initramfs; nothing was changed.");
  }
}

function recordStaged(root: string, manifest: Readonly<Manifest>): void {
  const dir = join(root, "var/lib/va-agent");
  mkdirSync(dir, { recursive: true });
  const record = { staged: manifest.product, at: new Date().toISOString(), stagingDir: stagingDirOf(manifest) };
  writeFileAtomically(join(dir, "staged.json"), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
}
