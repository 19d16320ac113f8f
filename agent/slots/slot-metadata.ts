import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { SLOT_NAMES, type SlotName } from "./slot-env.ts";
import { slotsMetadataPath } from "./slot-paths.ts";

/**
 * What GRUB's block cannot say: what each slot holds, when it was committed, why it is bad.
 * slots.json on the shared boot partition, beside grubenv. GRUB never reads it; the agent reads it to
 * refuse booting an empty or half-installed slot and to explain the state.
 */
export type SlotInstallState = "empty" | "installing" | "installed";

export interface SlotRecord {
  /** The slot's LV in the manifest's VG (`slots.a` / `slots.b`, normally `root` / `back`). */
  lv: string;
  state: SlotInstallState;
  product: string | null;
  release: string | null;
  installedAt: string | null;
  /** Last marked good (the commit unit, each boot that passed its health checks). */
  committedAt: string | null;
  badReason: string | null;
  badAt: string | null;
}

export interface SlotMetadata {
  format: 1;
  /** Boots GRUB tries per slot (manifest `slots.tries`); the grub.cfg the migration wrote counts to the same number. */
  tries: number;
  /** The VG of both slot LVs (the rescue system finds the slots by it); null in a file written before it was recorded. */
  vg: string | null;
  slots: Record<SlotName, SlotRecord>;
}

export const DEFAULT_SLOT_TRIES = 3;
export const DEFAULT_SLOT_LVS: Record<SlotName, string> = { A: "root", B: "back" };

export function emptySlotRecord(lv: string): SlotRecord {
  return { lv, state: "empty", product: null, release: null, installedAt: null, committedAt: null, badReason: null, badAt: null };
}

export function emptySlotMetadata(options: { lvs?: Record<SlotName, string>; tries?: number; vg?: string } = {}): SlotMetadata {
  const lvs = options.lvs ?? DEFAULT_SLOT_LVS;
  return { format: 1, tries: options.tries ?? DEFAULT_SLOT_TRIES, vg: options.vg ?? null, slots: { A: emptySlotRecord(lvs.A), B: emptySlotRecord(lvs.B) } };
}

/**
 * Lenient: a missing or mistyped field takes its default, an unknown state reads as "empty" (the
 * safe reading: an empty slot is never activated), a missing file is two empty slots.
 */
export function slotMetadataFromJson(value: unknown): SlotMetadata {
  const doc = isObject(value) ? value : {};
  const tries = typeof doc.tries === "number" && Number.isInteger(doc.tries) && doc.tries > 0 ? doc.tries : DEFAULT_SLOT_TRIES;
  const slots = isObject(doc.slots) ? doc.slots : {};
  const record = (slot: SlotName): SlotRecord => {
    const raw = isObject(slots[slot]) ? (slots[slot] as Record<string, unknown>) : {};
    const text = (key: string) => (typeof raw[key] === "string" ? (raw[key] as string) : null);
    const state = raw.state === "installing" || raw.state === "installed" ? raw.state : "empty";
    return { lv: text("lv") ?? DEFAULT_SLOT_LVS[slot], state, product: text("product"), release: text("release"), installedAt: text("installedAt"), committedAt: text("committedAt"), badReason: text("badReason"), badAt: text("badAt") };
  };
  const vg = typeof doc.vg === "string" && doc.vg ? doc.vg : null;
  return { format: 1, tries, vg, slots: Object.fromEntries(SLOT_NAMES.map((slot) => [slot, record(slot)])) as Record<SlotName, SlotRecord> };
}

export function readSlotMetadata(bootMount: string): SlotMetadata {
  let text: string;
  try {
    text = readFileSync(slotsMetadataPath(bootMount), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptySlotMetadata();
    throw error;
  }
  try {
    return slotMetadataFromJson(JSON.parse(text));
  } catch {
    return emptySlotMetadata(); // not JSON: written whole by rename, so only a foreign write gets here
  }
}

/** Replaced as a whole (temp file, fsync, rename, directory fsync): a power cut leaves the old or the new file. */
export function writeSlotMetadata(bootMount: string, metadata: SlotMetadata): void {
  const path = slotsMetadataPath(bootMount);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomically(path, `${JSON.stringify(metadata, null, 2)}\n`, modeAndOwnerOf(path, 0o644));
}

export function withSlotRecord(metadata: SlotMetadata, slot: SlotName, change: Partial<SlotRecord>): SlotMetadata {
  return { ...metadata, slots: { ...metadata.slots, [slot]: { ...metadata.slots[slot], ...change } } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
