import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TINY_BOOT_DIR, TINY_INITRAMFS_FILE, TINY_KERNEL_FILE, withoutMigrationEntry } from "./one-time-boot.ts";

/** Where agents before this one put the tiny system: a box staged by one of them still has them. */
const LEGACY_TINY_FILES = ["vmlinuz-va-convert", "initramfs-va-convert.img"];
const GRUB_DIRS = ["grub2", "grub"];

/** The tiny kernel and initramfs under `bootDir` (the filesystem /boot is, or root's /boot). */
export function tinyBootFiles(bootDir: string): { dir: string; kernel: string; initramfs: string } {
  const dir = join(bootDir, TINY_BOOT_DIR);
  return { dir, kernel: join(dir, TINY_KERNEL_FILE), initramfs: join(dir, TINY_INITRAMFS_FILE) };
}

/**
 * Takes the tiny system off a /boot: its directory, the files older agents left, and the migration
 * entry in custom.cfg (a custom.cfg left empty goes too). Returns what it removed, relative to bootDir.
 */
export function removeTinySystemFromBoot(bootDir: string): string[] {
  const removed: string[] = [];
  const { dir } = tinyBootFiles(bootDir);
  if (existsSync(dir)) {
    rmSync(dir, { recursive: true, force: true });
    removed.push(TINY_BOOT_DIR);
  }
  for (const name of LEGACY_TINY_FILES) {
    if (!existsSync(join(bootDir, name))) continue;
    rmSync(join(bootDir, name), { force: true });
    removed.push(name);
  }
  for (const grubDir of GRUB_DIRS) {
    if (removeMigrationEntry(join(bootDir, grubDir, "custom.cfg"))) removed.push(`${grubDir}/custom.cfg entry`);
  }
  return removed;
}

function removeMigrationEntry(customCfg: string): boolean {
  if (!existsSync(customCfg)) return false;
  const before = readFileSync(customCfg, "utf8");
  const after = withoutMigrationEntry(before);
  if (after === before) return false;
  if (after.trim()) writeFileSync(customCfg, after);
  else rmSync(customCfg);
  return true;
}
