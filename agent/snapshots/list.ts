import type { LogicalVolume } from "../lvm/logical-volumes.ts";
import type { SlotName } from "../slots/slot-env.ts";
import type { SlotLayout } from "../slots/slot-layout.ts";
import { readSnapshotRecord, snapshotRecordNames } from "./records.ts";
import { lvNamed, slotOfLv, snapshotNames, snapshotVolumes } from "./snapshot-facts.ts";
import { gib } from "./volume-group.ts";

export interface ListedVolume {
  lv: string;
  origin: string;
  slot: SlotName | null;
  /** The COW's size (what lvs says of a snapshot), and its origin's. */
  cowBytes: number;
  originBytes: number | null;
  usePercent: number | null;
  invalid: boolean;
  merging: boolean;
  /** A slot's kernel and initramfs are in its LV, so its snapshot holds them; any other LV has no /boot. */
  boot: "in the slot" | "not covered";
}

export interface ListedSnapshot {
  name: string;
  /** The record's time, else LVM's lv_time of its first LV. */
  createdAt: string;
  record: boolean;
  volumes: ListedVolume[];
}

/** Every snapshot NAME with LVs or a record (one without LVs is a merged or removed one whose record stayed). */
export function snapshotListing(layout: Pick<SlotLayout, "slots">, lvs: readonly LogicalVolume[], bootMount: string): ListedSnapshot[] {
  const names = [...new Set([...snapshotNames(lvs), ...snapshotRecordNames(bootMount)])].sort();
  return names.map((name) => {
    const record = readSnapshotRecord(bootMount, name);
    const volumes = snapshotVolumes(lvs, name).map((lv): ListedVolume => {
      const origin = lv.origin ?? "";
      const slot = slotOfLv(layout, origin);
      return { lv: lv.name, origin, slot, cowBytes: lv.sizeBytes, originBytes: lvNamed(lvs, origin)?.sizeBytes ?? null, usePercent: lv.snapPercent, invalid: lv.invalid, merging: lv.merging, boot: slot ? "in the slot" : "not covered" };
    });
    return { name, createdAt: record?.createdAt ?? snapshotVolumes(lvs, name)[0]?.createdAt ?? "", record: record !== null, volumes };
  });
}

export function renderSnapshotListing(snapshots: readonly ListedSnapshot[]): string {
  if (snapshots.length === 0) return "no snapshots\n";
  const lines = snapshots.flatMap((s) => [
    `${s.name}: taken ${s.createdAt || "(time unknown)"}${s.record ? "" : "; no record (the slot state is not restored by a merge)"}${s.volumes.length === 0 ? "; its LVs are gone (`va-agent snapshot delete " + s.name + "` removes the record)" : ""}`,
    ...s.volumes.map((v) => `  ${v.lv}: of ${v.origin}${v.slot ? ` (slot ${v.slot})` : ""}, COW ${gib(v.cowBytes)}, ${state(v)}; boot: ${v.boot}`),
  ]);
  return `${lines.join("\n")}\n`;
}

function state(volume: ListedVolume): string {
  if (volume.invalid) return "INVALID (its COW overflowed: only delete removes it)";
  if (volume.merging) return "merging into its origin";
  return `${volume.usePercent === null ? "?" : volume.usePercent.toFixed(2)}% used`;
}
