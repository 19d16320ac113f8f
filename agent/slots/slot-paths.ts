import { join } from "node:path";

/**
 * Where the slot state lives. The manifest's /boot partition is the SHARED boot partition, mounted in
 * every slot at SHARED_BOOT_MOUNT; the files below are relative to that filesystem's root, and the
 * functions take its mount point (the box uses SHARED_BOOT_MOUNT, tests a tmp dir).
 */
export const SHARED_BOOT_MOUNT = "/boot/va";

/** GRUB's 1024-byte environment block: ORDER, A_OK, A_TRY, B_OK, B_TRY (slot-env.ts). */
export const GRUBENV_FILE = "grub/grubenv";
/** The agent's own boot selection (boot-menu.ts writes it; the distribution never regenerates it). */
export const GRUB_CFG_FILE = "grub/grub.cfg";
/** Per-slot metadata: what is installed in each slot, when it was committed, why it is bad. */
export const SLOTS_METADATA_FILE = "va-agent/slots.json";
/** The tiny system kept as the last-resort "Rescue" entry (linux, initrd.img): never upgraded. */
export const RESCUE_DIR = "va-rescue";
/** Inside each slot (its own root): a GRUB environment block holding `va_cmdline=`, that slot's extra kernel arguments. */
export const SLOT_BOOT_ENV = "/etc/va-agent/slot-boot.env";

/** GRUB writes its environment block in place: the file is always exactly this size. */
export const GRUBENV_SIZE = 1024;

export function grubenvPath(bootMount: string = SHARED_BOOT_MOUNT): string {
  return join(bootMount, GRUBENV_FILE);
}

export function grubCfgPath(bootMount: string = SHARED_BOOT_MOUNT): string {
  return join(bootMount, GRUB_CFG_FILE);
}

export function slotsMetadataPath(bootMount: string = SHARED_BOOT_MOUNT): string {
  return join(bootMount, SLOTS_METADATA_FILE);
}

export function rescueDir(bootMount: string = SHARED_BOOT_MOUNT): string {
  return join(bootMount, RESCUE_DIR);
}

/** The slot-boot.env of the slot whose root is mounted at `slotRoot` ("/" for the running slot). */
export function slotBootEnvPath(slotRoot = "/"): string {
  return join(slotRoot, SLOT_BOOT_ENV);
}
