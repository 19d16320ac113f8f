import { existsSync, readFileSync } from "node:fs";
import { PreflightError } from "../errors/errors.ts";

/**
 * `migrate` wipes the disk the old system lives on: it may only run from RAM. The tiny system's
 * root is the initramfs (rootfs/tmpfs/ramfs); a root on a block device means we are on the old system.
 */
export function assertRunningFromRam(mountinfo = readIfExists("/proc/self/mountinfo")): void {
  const rootLine = mountinfo.split("\n").find((line) => line.split(" ")[4] === "/");
  const fstype = rootLine?.split(" - ")[1]?.split(" ")[0];
  if (!fstype || !["rootfs", "tmpfs", "ramfs"].includes(fstype)) {
    throw new PreflightError(
      `refusing to migrate: / is a ${fstype ?? "unknown"} filesystem, not the tiny system's RAM root`,
      "Run `va-agent stage BUNDLE --reboot` on the old system; the migration itself runs only in the tiny system.",
    );
  }
}

/** What to do after a successful migration: `--after`, else `va.after=` on the kernel command line, else reboot. */
export function afterMigration(flag: string | undefined, cmdline = readIfExists("/proc/cmdline")): "reboot" | "poweroff" | "none" {
  const value = flag ?? /(?:^|\s)va\.after=(\S+)/.exec(cmdline)?.[1] ?? "reboot";
  if (value === "reboot" || value === "poweroff" || value === "none") return value;
  return "reboot";
}

function readIfExists(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}
