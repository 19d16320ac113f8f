import { SECTOR, type SectorRange } from "./sector-ranges.ts";
import type { Runner } from "../runner/runner.ts";

/**
 * sgdisk builds the new GPT in a scratch image the size of the disk; this copies only the GPT's
 * own sectors to the disk, and the protective MBR last with the disk's boot code kept. So the
 * boot sector never loses the staged boot code (it would, for a few hundred milliseconds, if sgdisk
 * --zap-all and --load-backup wrote the disk directly), and nothing else of the disk is touched.
 */

/** Boot code area of the MBR: everything before the disk signature (0x1b8). */
export const MBR_CODE_BYTES = 440;

/** The sectors that hold a GPT: backup entries and header, then primary entries and header. */
export function gptSectors(header: Buffer, backupHeader: Buffer): SectorRange[] {
  const entriesOf = (h: Buffer) => ({
    start: Number(h.readBigUInt64LE(72)),
    count: Math.ceil((h.readUInt32LE(80) * h.readUInt32LE(84)) / SECTOR),
  });
  if (header.subarray(0, 8).toString("latin1") !== "EFI PART" || backupHeader.subarray(0, 8).toString("latin1") !== "EFI PART") {
    throw new Error("the scratch image has no GPT");
  }
  const backupLba = Number(header.readBigUInt64LE(32));
  return [entriesOf(backupHeader), { start: backupLba, count: 1 }, entriesOf(header), { start: 1, count: 1 }];
}

/** The protective MBR from the image with the boot code of the disk's current sector 0. */
export function protectiveMbrKeepingCode(imageMbr: Buffer, diskMbr: Buffer): Buffer {
  const sector = Buffer.from(imageMbr);
  diskMbr.copy(sector, 0, 0, MBR_CODE_BYTES);
  return sector;
}

export async function writeGptFromImage(run: Runner, image: string, disk: string): Promise<void> {
  const header = await run.readSectors(image, 1, 1);
  const backup = await run.readSectors(image, Number(header.readBigUInt64LE(32)), 1);
  for (const range of gptSectors(header, backup)) {
    await run.writeSectors(disk, range.start, await run.readSectors(image, range.start, range.count), "GPT");
  }
  const mbr = protectiveMbrKeepingCode(await run.readSectors(image, 0, 1), await run.readSectors(disk, 0, 1));
  await run.writeSectors(disk, 0, mbr, "protective MBR (boot code kept)");
}
