import type { Product } from "../product/installed-product.ts";
import { write, type Entry } from "../steps/entry.ts";
import type { SlotName } from "./slot-env.ts";
import { grubenvPath, slotsMetadataPath } from "./slot-paths.ts";

/**
 * The slot state an install changes, on the shared boot partition (grubenv, /va-agent/slots.json).
 * The real writer is agent/slots/slot-actions.ts (beginInstall, finishInstall); an install takes
 * it as a parameter, tests a recording one.
 */
export interface SlotStateWriter {
  /** Before the slot's LV is touched: the slot is bad (and out of ORDER), so a power cut from here on never boots a half-written slot. */
  beginInstall(slot: SlotName): Promise<void> | void;
  /** After the slot is written, unmounted and synced: it is next in ORDER with its tries reset, its release recorded. */
  finishInstall(slot: SlotName, installed: { product: string; release: string }): Promise<void> | void;
  /** What the two writes touch, for the plan (default: the contract's files on the shared boot partition). */
  readonly writes?: string;
}

export const SLOT_STATE_FILES = `${grubenvPath()}, ${slotsMetadataPath()}`;

export function beginInstallEntry(state: SlotStateWriter, slot: SlotName): Entry {
  return write(state.writes ?? SLOT_STATE_FILES, `slot ${slot} marked bad (beginInstall): GRUB boots it no more until this install finishes`, () => state.beginInstall(slot));
}

export function finishInstallEntry(state: SlotStateWriter, slot: SlotName, product: Product): Entry {
  return write(state.writes ?? SLOT_STATE_FILES, `slot ${slot} holds ${product.name} ${product.release} (finishInstall): next in ORDER, its tries reset`, () =>
    state.finishInstall(slot, { product: product.name, release: product.release }),
  );
}
