/** Where the agent keeps its state in the tiny system. /run is a tmpfs there: RAM, lost on reboot. */
export interface Paths {
  workDir: string;
  payloadDir: string;
  oldRootMount: string;
  probeMount: string;
  targetRoot: string;
  logFile: string;
  journalFile: string;
  /** Where the resume store (an LV of the new disk, see docs/RESUME.md) is mounted in the tiny system. */
  resumeDir: string;
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
    resumeDir: `${workDir}/resume`,
    targetStateDir: "/var/lib/va-agent",
    targetLogDir: "/var/log/va-agent",
  };
}

export const DEFAULT_STAGING_DIR = "/etc/upd";
export const MANIFEST_FILE = "manifest.json";
export const CAPTURED_CONFIG_FILE = "captured-config.json";
/** The directory, on the resume volume's filesystem, that holds what a resumed run needs. */
export const RESUME_STORE_DIR = "va-resume";
/** The directory, on the new /boot, that holds the tiny kernel, initramfs and the resume GRUB. */
export const RESUME_BOOT_DIR = "va-resume";
export const PLAN_FILE = "plan.json";
