import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Log } from "../log/logger.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { openTemp } from "../disk/write-file-atomically.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import type { Runner } from "../runner/runner.ts";
import { captureAccounts } from "./capture-accounts.ts";
import { captureHostname } from "./capture-hostname.ts";
import { captureNetwork } from "./capture-network.ts";
import { capturePaths } from "./capture-paths.ts";
import { type CapturedConfig, CARRY_OVER_ARCHIVE_FILE, parseCapturedConfig, payloadFileMode, writeCapturedConfig } from "./captured-config.ts";
import { captureMounts, type MountFacts, type MountLeft } from "./capture-mounts.ts";
import { type LiveNetwork, readLiveNetwork } from "./live-network.ts";
import { notCarried } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";
import { archivePathsCommand } from "./paths-archive.ts";

export interface CaptureOptions {
  /** The old system's root: `/` when staging, a fixture tree in tests. */
  root: string;
  run: Runner;
  log: Log;
  manifest: Readonly<Pick<Manifest, "carryOver">>;
  /** The disks as stage probed them: without them no fstab entry is carried (said so). */
  mountFacts?: MountFacts;
  /** The caller carries the fstab lines itself (a slot install keeps the running system's): no mount is captured, silently. */
  fstabCarriedWhole?: boolean;
}

/** The document and what `stage` reports besides: the live network it was checked against, the fstab entries left. */
export interface Capture {
  config: CapturedConfig;
  live?: LiveNetwork;
  mountsLeft: MountLeft[];
}

/** Reads the old system's configuration into the neutral document; writes nothing. */
export async function captureForStage({ root, run, log, manifest, mountFacts, fstabCarriedWhole }: CaptureOptions): Promise<Capture> {
  const live = manifest.carryOver.network === false ? undefined : await readLiveNetwork(run);
  const network = manifest.carryOver.network === false ? undefined : captureNetwork(root, live);
  const accounts = captureAccounts(root, manifest.carryOver.accounts);
  const mounts = fstabCarriedWhole ? { mounts: [], left: [], warnings: [] } : mountFacts ? captureMounts(root, mountFacts) : uncheckedMounts(root);
  const paths = capturePaths(root, manifest.carryOver.paths);
  const hostname = captureHostname(root);
  const config = parseCapturedConfig({
    format: 2,
    ...(hostname ? { hostname } : {}),
    interfaces: network?.interfaces ?? [],
    dns: network?.dns ?? { servers: [], search: [] },
    accounts: accounts.accounts,
    mounts: mounts.mounts,
    paths: paths.paths,
    warnings: [...(network?.warnings ?? []), ...accounts.warnings, ...mounts.warnings, ...paths.warnings],
  }, "the captured configuration");
  for (const warning of config.warnings) log.warn(warning.message, { id: warning.id });
  log.info(`captured ${config.interfaces.length} interface(s), ${config.accounts.length} account(s), ${config.mounts.length} mount(s), ${config.paths.length} path(s)`);
  return { config, ...(live ? { live } : {}), mountsLeft: mounts.left };
}

export async function captureConfig(options: CaptureOptions): Promise<CapturedConfig> {
  return (await captureForStage(options)).config;
}

/** Without the probed disks nothing tells which entries live outside the target disk. */
function uncheckedMounts(root: string): ReturnType<typeof captureMounts> {
  const warnings = readRootFile(root, "/etc/fstab") === undefined ? [] : [notCarried("mounts-unchecked", "/etc/fstab: the target disk is unknown, so no entry is known to live outside it")];
  return { mounts: [], left: [], warnings };
}

/** What `stage` writes, once nothing inhibits: the document (0600) and the paths archive, side by side in the staging directory. */
export async function writeStagedConfig(options: Pick<CaptureOptions, "root" | "run"> & { stagingDir: string }, config: CapturedConfig): Promise<{ documentPath: string; archivePath?: string }> {
  mkdirSync(options.stagingDir, { recursive: true });
  let archivePath: string | undefined;
  if (config.paths.length > 0) {
    archivePath = join(options.stagingDir, CARRY_OVER_ARCHIVE_FILE);
    await archivePathsAtomically(options, config, archivePath);
  }
  const documentPath = join(options.stagingDir, CAPTURED_CONFIG_FILE);
  writeCapturedConfig(documentPath, config);
  return { documentPath, ...(archivePath ? { archivePath } : {}) };
}

/** Capture and write in one go (tests, and any caller without a pre-flight of its own). */
export async function stageCapturedConfig(options: CaptureOptions & { stagingDir: string }): Promise<{ config: CapturedConfig; documentPath: string; archivePath?: string }> {
  const config = await captureConfig(options);
  return { config, ...(await writeStagedConfig(options, config)) };
}

/** tar writes into a temp file that already has the archive's final mode (GNU tar keeps an existing file's mode), then it is renamed. */
async function archivePathsAtomically(options: Pick<CaptureOptions, "root" | "run">, config: CapturedConfig, archivePath: string): Promise<void> {
  const temp = openTemp(archivePath, { mode: payloadFileMode(archivePath) });
  try {
    await options.run.run(archivePathsCommand(options.root, config.paths.map((p) => p.path), temp.path));
  } catch (error) {
    temp.discard();
    throw error;
  }
  temp.commit();
}
