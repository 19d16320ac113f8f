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
import { readLiveNetwork } from "./live-network.ts";
import { archivePathsCommand } from "./paths-archive.ts";

export interface CaptureOptions {
  /** The old system's root: `/` when staging, a fixture tree in tests. */
  root: string;
  run: Runner;
  log: Log;
  manifest: Readonly<Pick<Manifest, "carryOver">>;
}

/** Reads the old system's configuration into the neutral document; writes nothing. */
export async function captureConfig({ root, run, log, manifest }: CaptureOptions): Promise<CapturedConfig> {
  const network = manifest.carryOver.network === false ? undefined : captureNetwork(root, await readLiveNetwork(run));
  const accounts = captureAccounts(root, manifest.carryOver.accounts);
  const paths = capturePaths(root, manifest.carryOver.paths);
  const hostname = captureHostname(root);
  const config = parseCapturedConfig({
    format: 1,
    ...(hostname ? { hostname } : {}),
    interfaces: network?.interfaces ?? [],
    dns: network?.dns ?? { servers: [], search: [] },
    accounts: accounts.accounts,
    paths: paths.paths,
    warnings: [...(network?.warnings ?? []), ...accounts.warnings, ...paths.warnings],
  }, "the captured configuration");
  for (const warning of config.warnings) log.warn(warning.message, { id: warning.id });
  log.info(`captured ${config.interfaces.length} interface(s), ${config.accounts.length} account(s), ${config.paths.length} path(s)`);
  return config;
}

/** What `stage` calls: the document (0600) and the paths archive, side by side in the staging directory. */
export async function stageCapturedConfig(options: CaptureOptions & { stagingDir: string }): Promise<{ config: CapturedConfig; documentPath: string; archivePath?: string }> {
  const config = await captureConfig(options);
  mkdirSync(options.stagingDir, { recursive: true });
  let archivePath: string | undefined;
  if (config.paths.length > 0) {
    archivePath = join(options.stagingDir, CARRY_OVER_ARCHIVE_FILE);
    await archivePathsAtomically(options, config, archivePath);
  }
  const documentPath = join(options.stagingDir, CAPTURED_CONFIG_FILE);
  writeCapturedConfig(documentPath, config);
  return { config, documentPath, archivePath };
}

/** tar writes into a temp file that already has the archive's final mode (GNU tar keeps an existing file's mode), then it is renamed. */
async function archivePathsAtomically(options: CaptureOptions, config: CapturedConfig, archivePath: string): Promise<void> {
  const temp = openTemp(archivePath, { mode: payloadFileMode(archivePath) });
  try {
    await options.run.run(archivePathsCommand(options.root, config.paths.map((p) => p.path), temp.path));
  } catch (error) {
    temp.discard();
    throw error;
  }
  temp.commit();
}
