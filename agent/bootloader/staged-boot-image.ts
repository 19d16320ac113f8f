import { grubBlocklist, SECTOR, type SectorRange } from "../disk/sector-ranges.ts";

/**
 * The boot code that carries the tiny system through window A (docs/RESUME.md): GRUB's own boot
 * sector and a core image whose embedded configuration loads the tiny kernel and initramfs by
 * blocklist, straight from the sectors where `stage` left them on the old root. No filesystem,
 * partition table or LVM metadata is read, so repartitioning the disk underneath does not stop it.
 * The byte offsets are those of GRUB's i386-pc boot.img and diskboot.img (include/grub/i386/pc/boot.h).
 */
const BPB_START = 0x03;
const BPB_END = 0x5a;
const KERNEL_SECTOR = 0x5c;
const DRIVE_CHECK = 0x66;
const NT_MAGIC = 0x1b8;
const SIGNATURE = 0x1fe;
const FIRST_BLOCKLIST = SECTOR - 12;
/** GRUB_BOOT_I386_PC_KERNEL_SEG + one sector: where diskboot loads the rest of core.img. */
const CORE_REST_SEGMENT = 0x820;

/** GRUB modules the embedded configuration needs; grub-mkimage adds their dependencies. */
export const STAGED_BOOT_MODULES = ["biosdisk", "linux", "boot", "echo"];

export interface StagedBootFiles {
  kernel: SectorRange[];
  initramfs: SectorRange[];
}

/**
 * The configuration embedded in core.img: no menu, no prefix, nothing else to read from disk.
 * One blocklist range per file: GRUB 2.12 misreads a blocklist of several ranges when one read
 * spans two of them (tested: "premature end of file"). initrd takes every range as its own file
 * and concatenates them, which is exact because all but the last range are whole sectors; the
 * kernel has to be one range (the plan refuses window-A closing otherwise).
 */
export function stagedBootConfig(files: StagedBootFiles, cmdline: string): string {
  if (files.kernel.length !== 1) throw new Error("the tiny kernel must be one contiguous range of sectors");
  return [
    "echo 'va-agent: booting the tiny system from the staged files (window A)'",
    `linux ${grubBlocklist("(hd0)", files.kernel)} ${cmdline}`,
    `initrd ${files.initramfs.map((range) => grubBlocklist("(hd0)", [range])).join(" ")}`,
    "boot",
    "",
  ].join("\n");
}

/**
 * GRUB's boot.img made to load core.img from `coreLba`, keeping the disk's current BPB and
 * partition table (bytes 0x1b8–0x1fd) as grub-bios-setup does. The result is the one-sector write
 * that is the point of no return.
 */
export function grubBootSector(bootImg: Uint8Array, currentSector: Uint8Array, coreLba: number): Uint8Array {
  if (bootImg.length !== SECTOR || currentSector.length !== SECTOR) throw new Error("boot.img and the boot sector must be 512 bytes");
  const sector = Uint8Array.from(bootImg);
  sector.set(currentSector.subarray(BPB_START, BPB_END), BPB_START);
  // A hard disk: skip boot.img's "is DL a floppy?" jump, as grub-bios-setup does.
  sector[DRIVE_CHECK] = 0x90;
  sector[DRIVE_CHECK + 1] = 0x90;
  sector.set(currentSector.subarray(NT_MAGIC, SIGNATURE), NT_MAGIC);
  sector[SIGNATURE] = 0x55;
  sector[SIGNATURE + 1] = 0xaa;
  new DataView(sector.buffer).setBigUint64(KERNEL_SECTOR, BigInt(coreLba), true);
  return sector;
}

/** core.img padded to whole sectors, its first blocklist pointing at the rest of itself from `coreLba` + 1. */
export function placedCoreImage(coreImg: Uint8Array, coreLba: number): Uint8Array {
  const sectors = Math.ceil(coreImg.length / SECTOR);
  const placed = new Uint8Array(sectors * SECTOR);
  placed.set(coreImg);
  const view = new DataView(placed.buffer);
  view.setBigUint64(FIRST_BLOCKLIST, BigInt(coreLba + 1), true);
  view.setUint16(FIRST_BLOCKLIST + 8, sectors - 1, true);
  view.setUint16(FIRST_BLOCKLIST + 10, CORE_REST_SEGMENT, true);
  return placed;
}

/** Whether `firstSector` is the first sector of a core image placed by placedCoreImage at `coreLba`. */
export function isPlacedAt(firstSector: Uint8Array, coreLba: number): boolean {
  const view = new DataView(firstSector.buffer, firstSector.byteOffset, SECTOR);
  return view.getBigUint64(FIRST_BLOCKLIST, true) === BigInt(coreLba + 1) && view.getUint16(FIRST_BLOCKLIST + 10, true) === CORE_REST_SEGMENT;
}

/** The LBA a boot sector written by grubBootSector loads core.img from. */
export function coreLbaOf(bootSector: Uint8Array): number {
  return Number(new DataView(bootSector.buffer, bootSector.byteOffset).getBigUint64(KERNEL_SECTOR, true));
}
