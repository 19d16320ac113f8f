import { LayoutError } from "../errors/errors.ts";

/** A partition of the reference layout, as `sgdisk --backup` recorded it. */
export interface LayoutPartition {
  number: number;
  firstLba: number;
  lastLba: number;
  /** sgdisk short type code where known (EF02, 8300, 8E00, EF00, 8200), else the type GUID. */
  typeCode: string;
  typeGuid: string;
  partitionGuid: string;
  name: string;
}

export interface GptLayout {
  /** Sectors of the disk the layout was made on. */
  diskSectors: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  partitions: LayoutPartition[];
}

export const SECTOR_BYTES = 512;
const HEADER_OFFSET = 512;
const ENTRY_ARRAY_SECTORS = 32;
const GPT_SIGNATURE = "EFI PART";

const TYPE_CODES: Record<string, string> = {
  "21686148-6449-6e6f-744e-656564454649": "EF02",
  "0fc63daf-8483-4772-8e79-3d69d8477de4": "8300",
  "e6d6d379-f507-44c2-a23c-238f2a3df928": "8E00",
  "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EF00",
  "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f": "8200",
  "bc13c2ff-59e6-4262-a352-b275fd6f7172": "EA00",
};

/** Parses an `sgdisk --backup` file: protective MBR, main header, backup header, entry array. */
export function parseSgdiskBackup(bytes: Uint8Array, source = "partition table"): GptLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const signature = new TextDecoder().decode(bytes.subarray(HEADER_OFFSET, HEADER_OFFSET + 8));
  if (bytes.length < 3 * SECTOR_BYTES || signature !== GPT_SIGNATURE) {
    throw new LayoutError(
      `${source} is not an sgdisk backup file (no GPT header)`,
      "Produce it with `sgdisk --backup=FILE DISK` from the reference disk and rebuild the bundle.",
    );
  }
  const u64 = (offset: number) => Number(view.getBigUint64(offset, true));
  const header = HEADER_OFFSET;
  const entryCount = view.getUint32(header + 80, true);
  const entrySize = view.getUint32(header + 84, true);
  const entriesOffset = 3 * SECTOR_BYTES;
  if (bytes.length < entriesOffset + entryCount * entrySize) {
    throw new LayoutError(`${source} is truncated: the partition entries are incomplete`, "Rebuild the bundle.");
  }
  const partitions: LayoutPartition[] = [];
  for (let index = 0; index < entryCount; index++) {
    const entry = entriesOffset + index * entrySize;
    const typeGuid = readGuid(bytes, entry);
    if (typeGuid === "00000000-0000-0000-0000-000000000000") continue;
    partitions.push({
      number: index + 1,
      typeGuid,
      typeCode: TYPE_CODES[typeGuid] ?? typeGuid,
      partitionGuid: readGuid(bytes, entry + 16),
      firstLba: u64(entry + 32),
      lastLba: u64(entry + 40),
      name: readUtf16Name(bytes.subarray(entry + 56, entry + 128)),
    });
  }
  return {
    diskSectors: u64(header + 32) + 1,
    firstUsableLba: u64(header + 40),
    lastUsableLba: u64(header + 48),
    diskGuid: readGuid(bytes, header + 56),
    partitions,
  };
}

/** The last usable LBA of a disk of `sectors` sectors with a standard 128-entry GPT. */
export function lastUsableLbaFor(sectors: number): number {
  return sectors - 1 - ENTRY_ARRAY_SECTORS - 1;
}

function readGuid(bytes: Uint8Array, offset: number): string {
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = Array.from(bytes.subarray(offset + from, offset + to));
    return (reverse ? part.reverse() : part).map((b) => b.toString(16).padStart(2, "0")).join("");
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false), hex(10, 16, false)].join("-");
}

function readUtf16Name(bytes: Uint8Array): string {
  const units: number[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const unit = bytes[i]! | (bytes[i + 1]! << 8);
    if (unit === 0) break;
    units.push(unit);
  }
  return String.fromCharCode(...units);
}
