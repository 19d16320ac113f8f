/** Where the agent keeps its state in the tiny system. /run is a tmpfs there: RAM, lost on reboot. */
export interface Paths {
  workDir: string;
  payloadDir: string;
  oldRootMount: string;
  probeMount: string;
  targetRoot: string;
  logFile: string;
  journalFile: string;
  /** Inside the new root: where the journal, logs and the result record persist. */
  targetStateDir: string;
  targetLogDir: string;
}

export function defaultPaths(workDir = "/run/va-agent", targetRoot = "/sysimage"): Paths {
  return {
    workDir,
    payloadDir: `${workDir}/payload`,
    oldRootMount: `${workDir}/old-root`,
    probeMount: `${workDir}/probe`,
    targetRoot,
    logFile: `${workDir}/agent.log`,
    journalFile: `${workDir}/journal.json`,
    targetStateDir: "/var/lib/va-agent",
    targetLogDir: "/var/log/va-agent",
  };
}

export const DEFAULT_STAGING_DIR = "/etc/upd";
export const MANIFEST_FILE = "manifest.json";
export const CAPTURED_CONFIG_FILE = "captured-config.json";
