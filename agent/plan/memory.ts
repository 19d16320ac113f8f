import type { Manifest } from "../manifest/manifest.ts";

/**
 * One rule for the RAM a migration needs, used by `stage`'s pre-flight and the tiny system's plan.
 * Everything the tiny system copies to RAM lives on the /run tmpfs, whose default cap (20 % of RAM
 * under systemd) is far below the payload on a small box: the tiny system sizes it itself
 * (`tmpfsSizeCommand`), so the real limit is the RAM left for that tmpfs and the tiny system.
 */
export const MIB = 1024 ** 2;
/** RAM the tiny system itself needs besides the files in tmpfs: its unpacked initramfs, the kernel, the tools running. */
export const TINY_SYSTEM_RAM_BYTES = 640 * MIB;
export const TMPFS_MARGIN_PERCENT = 10;
/** What else lives on /run beside the payload: the agent's log, journal and plan, udev's database, systemd's runtime journal. */
export const RUN_OTHER_BYTES = 64 * MIB;
/** The tmpfs of the tiny system that holds the work directory (Paths.workDir). */
export const TINY_SYSTEM_TMPFS = "/run";

export interface MemoryNeed {
  /** Files copied to RAM: rootfs archive, tiny kernel and initramfs, partition table, the carried configuration. */
  payloadBytes: number;
  /** The size the tiny system gives its /run tmpfs, in whole MiB. */
  tmpfsBytes: number;
  /** The tmpfs, full, plus the tiny system: the least RAM the machine must have. */
  ramBytes: number;
}

/** `carriedBytes`: captured config and carry-over archive, known once `stage` captured them (the tiny system stats them). */
export function memoryNeed(manifest: Readonly<Manifest>, carriedBytes = 0): MemoryNeed {
  const tiny = manifest.tinySystem;
  const payloadBytes =
    manifest.payload.rootfs.bytes + (tiny?.kernel.bytes ?? 0) + (tiny?.initramfs.bytes ?? 0) + (manifest.target.partitionTable.bytes ?? 0) + carriedBytes;
  const withMargin = payloadBytes + Math.ceil((payloadBytes * TMPFS_MARGIN_PERCENT) / 100);
  const tmpfsBytes = Math.ceil((withMargin + RUN_OTHER_BYTES) / MIB) * MIB;
  return { payloadBytes, tmpfsBytes, ramBytes: tmpfsBytes + TINY_SYSTEM_RAM_BYTES };
}

/** The sums, for the pre-flight report and the plan's refusal alike. */
export function describeMemoryNeed(need: MemoryNeed): string {
  return (
    `the files copied to RAM (${mib(need.payloadBytes)}) + ${TMPFS_MARGIN_PERCENT} % + ${mib(RUN_OTHER_BYTES)} for the rest of ${TINY_SYSTEM_TMPFS} ` +
    `= a tmpfs of ${mib(need.tmpfsBytes)}, + the tiny system (${mib(TINY_SYSTEM_RAM_BYTES)}) = ${mib(need.ramBytes)}`
  );
}

/**
 * Sets the tmpfs to what the migration puts there, before the payload is copied: contents stay.
 * On a box with much RAM this shrinks /run, which still holds everything with margin.
 */
export function tmpfsSizeCommand(need: MemoryNeed): string[] {
  return ["mount", "-o", `remount,size=${need.tmpfsBytes / MIB}m`, TINY_SYSTEM_TMPFS];
}

const mib = (bytes: number) => `${Math.ceil(bytes / MIB)} MiB`;
