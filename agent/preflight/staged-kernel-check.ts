import { inhibitor, type PreflightCheck, warning } from "./check.ts";

/** Window A without the staged boot, as docs/RESUME.md measured it (wipe-old-system until the resume entry is armed). */
export const OPEN_WINDOW_A = { quietSeconds: 62, loadedSeconds: 107 } as const;

export const ACCEPT_OPEN_WINDOW_FLAG = "--accept-open-window";

/**
 * The staged tiny kernel stayed in several pieces after stage's one-piece rewrites: GRUB cannot
 * boot it by sectors, so the migration falls back to the open window A. Stage refuses to arm the
 * migration boot for that, unless the operator accepts the window explicitly.
 */
export function openWindowCheck(pieces: number, accepted: boolean): PreflightCheck {
  const title = "staged tiny kernel in one piece";
  const finding =
    `the staged tiny kernel stays in ${pieces} pieces on disk after stage's one-piece rewrites, so GRUB cannot boot it from its sectors: ` +
    `this box has an unsafe window of about ${OPEN_WINDOW_A.quietSeconds} s (up to ${OPEN_WINDOW_A.loadedSeconds} s under load) after the point of no return, ` +
    "from wipe-old-system until the resume entry is armed, in which a power cut leaves the disk with no bootable path";
  if (accepted) return warning("staged-kernel", title, finding, "Keep the box on a reliable power supply until the console says the resume entry is armed (arm-resume-boot done).");
  return inhibitor(
    "staged-kernel",
    title,
    finding,
    `Free space on the filesystem of the staging directory (or defragment it, e.g. \`e4defrag\`) and stage again, or stage with ${ACCEPT_OPEN_WINDOW_FLAG} to migrate with that window open.`,
  );
}
