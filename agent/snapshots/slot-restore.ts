import { applySlotChange, type SlotChange } from "../slots/slot-actions.ts";
import { markGood } from "../slots/slot-env.ts";
import { withSlotRecord } from "../slots/slot-metadata.ts";
import { grubenvPath, slotsMetadataPath } from "../slots/slot-paths.ts";
import { fileSlotStore, type SlotState } from "../slots/slot-store.ts";
import { write, type Entry } from "../steps/entry.ts";
import type { SnapshotRecord } from "./records.ts";

/**
 * A merged slot LV holds again what it held when the snapshot was taken: its slots.json record
 * from then (release, commit time, no bad reason), good with no try counted. More bootable, so
 * slots.json first, then grubenv (slot-actions.ts); ORDER is left as it is.
 */
export function restoredSlotChange(state: SlotState, record: SnapshotRecord): SlotChange | null {
  const restored = record.origins.filter((origin) => origin.slot !== null && origin.slotState !== null);
  if (restored.length === 0) return null;
  let { env, metadata } = state;
  for (const origin of restored) {
    metadata = withSlotRecord(metadata, origin.slot!, { ...origin.slotState!, lv: metadata.slots[origin.slot!].lv });
    env = markGood(env, origin.slot!);
  }
  const slots = restored.map((origin) => origin.slot!).join(", ");
  return {
    action: "restore-from-snapshot",
    slot: restored[0]!.slot,
    writes: [{ file: "metadata", metadata }, { file: "grubenv", env }],
    after: { env, metadata },
    message: `slot ${slots} restored as of snapshot ${record.name} (${record.createdAt}): good, no try counted`,
  };
}

/** The entry that writes it, when the record names a slot origin. */
export function slotRestoreEntries(bootMount: string, record: SnapshotRecord | null): Entry[] {
  if (!record || !record.origins.some((origin) => origin.slot !== null && origin.slotState !== null)) return [];
  const slots = record.origins.flatMap((origin) => (origin.slot ? [origin.slot] : [])).join(", ");
  return [
    write(`${slotsMetadataPath(bootMount)}, ${grubenvPath(bootMount)}`, `slot ${slots} as recorded when ${record.name} was taken, good with no try counted (slots.json first)`, (ctx) => {
      const store = fileSlotStore(bootMount);
      const change = restoredSlotChange(store.read(), record);
      if (!change) return;
      applySlotChange(store, change);
      ctx.log.info(change.message);
    }),
  ];
}
