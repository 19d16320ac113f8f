import type { Manifest } from "../manifest/manifest.ts";
import { stagingDirArg } from "../manifest/staging-dir.ts";
import { TINY_CMDLINE } from "./tiny-cmdline.ts";

export const MIGRATION_ENTRY_TITLE = "va-agent migration";
/**
 * The tiny system on the old /boot lives in a directory of its own, under names no grub.d script
 * lists: Debian's and EL's 10_linux make a menu entry of every /boot/vmlinuz-* (and vmlinux-*,
 * kernel-*; 20_linux_xen also /boot/xen*), version-sorted with the highest first, so a tiny kernel
 * there became the default entry at the old system's next update-grub, without its initramfs.
 * The resume kit on the new /boot (va-resume/) uses the same file names.
 */
export const TINY_BOOT_DIR = "va-agent";
export const TINY_KERNEL_FILE = "tiny-linux";
export const TINY_INITRAMFS_FILE = "tiny-initrd.img";
const BEGIN = "### BEGIN va-agent migration entry ###";
const END = "### END va-agent migration entry ###";

/** What the old system's GRUB looks like, as probed by `stage`. */
export interface OldBootloader {
  /** /boot/grub (Debian) or /boot/grub2 (EL). */
  grubDir: string;
  /** grub-reboot or grub2-reboot. */
  rebootTool: string;
  /** grub-mkconfig or grub2-mkconfig, to add the custom.cfg hook to an old grub.cfg that lacks it. */
  mkconfigTool: string;
  /** UUID of the filesystem holding /boot, and whether /boot is its own filesystem. */
  bootFsUuid: string;
  bootIsSeparate: boolean;
  /** console= arguments of the running kernel: the tiny system talks where the old one did. */
  consoles: string[];
}

/**
 * The menu entry lives in GRUB's custom.cfg (sourced by grub.cfg at boot, so no grub.cfg rewrite is
 * needed) and is booted once through grub-reboot's next_entry: a failure before the point of no
 * return, or a power cut, brings the old default entry back on the next boot.
 */
export function migrationMenuEntry(boot: OldBootloader, manifest: Readonly<Pick<Manifest, "payload">>, entryArgs: readonly string[] = []): string {
  const prefix = `${boot.bootIsSeparate ? "" : "/boot"}/${TINY_BOOT_DIR}`;
  const cmdline = [...boot.consoles, TINY_CMDLINE, stagingDirArg(manifest), ...entryArgs].join(" ");
  return [
    BEGIN,
    `menuentry '${MIGRATION_ENTRY_TITLE}' --id va-agent-migration {`,
    "  insmod part_msdos",
    "  insmod part_gpt",
    "  insmod xfs",
    "  insmod ext2",
    `  search --no-floppy --fs-uuid --set=root ${boot.bootFsUuid}`,
    `  linux ${prefix}/${TINY_KERNEL_FILE} ${cmdline}`,
    `  initrd ${prefix}/${TINY_INITRAMFS_FILE}`,
    "}",
    END,
    "",
  ].join("\n");
}

/** custom.cfg with our entry added (or replaced), leaving the rest of the file as it was. */
export function withMigrationEntry(customCfg: string, entry: string): string {
  return `${withoutMigrationEntry(customCfg).trimEnd()}${customCfg.trim() ? "\n" : ""}${entry}`.replace(/^\n/, "");
}

export function withoutMigrationEntry(customCfg: string): string {
  const start = customCfg.indexOf(BEGIN);
  const end = customCfg.indexOf(END);
  if (start === -1 || end === -1) return customCfg;
  return customCfg.slice(0, start) + customCfg.slice(end + END.length + 1);
}

export function oneTimeBootCommand(boot: OldBootloader): string[] {
  return [boot.rebootTool, MIGRATION_ENTRY_TITLE];
}

export function consolesOf(cmdline: string): string[] {
  return cmdline.split(/\s+/).filter((arg) => arg.startsWith("console="));
}
