import { InstallError, SnapshotError } from "../errors/errors.ts";
import { listLogicalVolumes, type LogicalVolume } from "../lvm/logical-volumes.ts";
import type { SnapshotsSpec } from "../manifest/manifest.ts";
import type { Runner } from "../runner/runner.ts";
import { SLOT_NAMES, type SlotName } from "../slots/slot-env.ts";
import { readSlotLayout, SLOT_LAYOUT_FILE, type SlotLayout } from "../slots/slot-layout.ts";
import { snapshotNameOf } from "./names.ts";
import { volumeGroupSpace, type VolumeGroupSpace } from "./volume-group.ts";

/** What every snapshot command decides on, read before anything is planned (read-only commands only). */
export interface SnapshotFacts {
  layout: SlotLayout;
  lvs: LogicalVolume[];
  space: VolumeGroupSpace;
  /** The slot Linux runs from (va.slot=), null in the rescue system or outside the slot menu. */
  booted: SlotName | null;
  /** The shared boot partition's mount point: the records live there. */
  bootMount: string;
  /** ISO time for the records. */
  now: string;
}

export async function readSnapshotFacts(run: Runner, where: { root: string; bootMount: string; booted: SlotName | null; now: string }): Promise<SnapshotFacts> {
  const layout = snapshotLayout(where.root);
  const lvs = await listLogicalVolumes(run, layout.vg);
  const space = await volumeGroupSpace(run, layout.vg);
  return { layout, lvs, space, booted: where.booted, bootMount: where.bootMount, now: where.now };
}

/** slot-layout.json of the running slot: the VG, the slot LVs, the snapshots settings. */
export function snapshotLayout(root: string): SlotLayout {
  try {
    return readSlotLayout(root);
  } catch (error) {
    if (!(error instanceof InstallError)) throw error;
    throw new SnapshotError(error.message, error.hint, { ...error.details, refusal: "no-slot-layout" });
  }
}

/** The settings of a box whose manifest turned snapshots on; a refusal otherwise. */
export function snapshotSettings(layout: SlotLayout): SnapshotsSpec {
  if (layout.snapshots) return layout.snapshots;
  throw new SnapshotError(
    `snapshots are not turned on on this box: /${SLOT_LAYOUT_FILE} has no snapshots settings (the migration manifest had no snapshots block)`,
    "The migration left no VG space for snapshots. `va-agent snapshot list` and `delete` still work; nothing was changed.",
    { refusal: "snapshots-off" },
  );
}

/** The LVs of one snapshot NAME (by its tag, whatever the LVs are called). */
export function snapshotVolumes(lvs: readonly LogicalVolume[], name: string): LogicalVolume[] {
  return lvs.filter((lv) => snapshotNameOf(lv.tags) === name);
}

/** Every snapshot NAME the VG has, sorted. */
export function snapshotNames(lvs: readonly LogicalVolume[]): string[] {
  return [...new Set(lvs.flatMap((lv) => snapshotNameOf(lv.tags) ?? []))].sort();
}

export function slotOfLv(layout: Pick<SlotLayout, "slots">, lv: string): SlotName | null {
  return SLOT_NAMES.find((slot) => layout.slots[slot] === lv) ?? null;
}

export function lvNamed(lvs: readonly LogicalVolume[], name: string): LogicalVolume | undefined {
  return lvs.find((lv) => lv.name === name);
}
