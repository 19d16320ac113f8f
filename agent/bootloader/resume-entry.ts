import { existsSync, readFileSync } from "node:fs";
import { TINY_INITRAMFS_FILE, TINY_KERNEL_FILE } from "./one-time-boot.ts";
import { TINY_CMDLINE } from "./tiny-cmdline.ts";

export const RESUME_ENTRY_TITLE = "va-agent migration (resume)";

/** What the resume boot entry needs to know about the new disk. */
export interface ResumeBoot {
  /** Directory of the resume kit as GRUB sees it on the filesystem holding /boot: "/va-resume" or "/boot/va-resume". */
  dir: string;
  /** Filesystem type of that filesystem (ext4 → GRUB's ext2 module). */
  fstype: "ext4" | "xfs";
  /** /boot lives on an LV (no separate /boot partition): GRUB needs its lvm module. */
  onLvm: boolean;
  /** Kernel arguments carried from the running tiny system: console=…, va.after=… */
  carried: string[];
}

/** The running kernel's command line. */
export function runningCmdline(): string {
  return existsSync("/proc/cmdline") ? readFileSync("/proc/cmdline", "utf8").trim() : "";
}

/** Arguments of the running tiny system's command line that the resumed one keeps: where it talks, what it does after. */
export function carriedArgs(cmdline: string): string[] {
  return cmdline.split(/\s+/).filter((arg) => arg.startsWith("console=") || arg.startsWith("va.after="));
}

export function resumeCmdline(boot: ResumeBoot): string {
  return [...boot.carried, TINY_CMDLINE, "va.mode=migrate"].join(" ");
}

/**
 * GRUB's configuration on the new /boot while the migration is unfinished: one entry that boots the
 * tiny system in migrate mode. Root is found by a file only the resume kit has, never by UUID:
 * fix-filesystem-uuids changes the /boot UUID after this file is written (docs/RESUME.md).
 */
export function resumeGrubCfg(boot: ResumeBoot): string {
  const serial = boot.carried
    .map((arg) => /^console=ttyS(\d+)(?:,(\d+))?/.exec(arg))
    .find(Boolean);
  const lines = [
    "# va-agent: the migration to the new OS is not finished. This entry restarts it after a power cut.",
    "# Written by the step arm-resume-boot; replaced when the new system's boot loader is installed.",
  ];
  if (serial) {
    lines.push(
      `serial --unit=${serial[1]} --speed=${serial[2] ?? "115200"}`,
      "terminal_input serial console",
      "terminal_output serial console",
    );
  }
  lines.push(
    "set default=0",
    "set timeout=2",
    "insmod part_gpt",
    "insmod part_msdos",
    ...(boot.onLvm ? ["insmod lvm"] : []),
    `insmod ${boot.fstype === "xfs" ? "xfs" : "ext2"}`,
    `search --no-floppy --file --set=root ${boot.dir}/${TINY_KERNEL_FILE}`,
    `menuentry '${RESUME_ENTRY_TITLE}' --id va-agent-resume {`,
    `  linux ${boot.dir}/${TINY_KERNEL_FILE} ${resumeCmdline(boot)}`,
    `  initrd ${boot.dir}/${TINY_INITRAMFS_FILE}`,
    "}",
    "",
  );
  return lines.join("\n");
}
