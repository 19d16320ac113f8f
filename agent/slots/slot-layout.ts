import { InstallError } from "../errors/errors.ts";
import type { Manifest, SnapshotsSpec } from "../manifest/manifest.ts";
import { LVM_NAME_PATTERN } from "../manifest/schema.ts";
import { readHostFile } from "../preflight/host-files.ts";
import { SLOT_NAMES, type SlotName } from "./slot-env.ts";

/**
 * What a slot install needs to know about the disk the migration laid out, which the migration
 * manifest knew and the running system otherwise does not: the VG, the LV of each slot, and what
 * the appliance carries from one system to the next (the manifest's carryOver). Written into the
 * new root at the end of the migration (and into every slot an install writes), beside installed.json.
 * The slot sizes are not recorded: `lvs` says them, whatever was resized since.
 */
export const SLOT_LAYOUT_FILE = "etc/va-agent/slot-layout.json";

export interface SlotLayout {
  format: 1;
  vg: string;
  /** The LV of each slot: A = the manifest's `root` slot, B = `back`. */
  slots: Record<SlotName, string>;
  carryOver: Manifest["carryOver"];
  /** The manifest's snapshots block, defaults filled: absent on a box whose manifest did not turn snapshots on. */
  snapshots?: SnapshotsSpec;
}

/** The record the migration (and each install, into the slot it writes) leaves. */
export function slotLayoutRecord(layout: Omit<SlotLayout, "format">): string {
  const record: SlotLayout = { format: 1, vg: layout.vg, slots: { A: layout.slots.A, B: layout.slots.B }, carryOver: layout.carryOver, ...(layout.snapshots ? { snapshots: layout.snapshots } : {}) };
  return `${JSON.stringify(record, null, 2)}\n`;
}

const NAME = new RegExp(LVM_NAME_PATTERN);

export function readSlotLayout(root: string): SlotLayout {
  const file = `/${SLOT_LAYOUT_FILE}`;
  const text = readHostFile(root, SLOT_LAYOUT_FILE);
  if (text === null) {
    throw new InstallError(
      `${file} is missing: nothing says which logical volumes are this system's slots`,
      `This system was not migrated by a va-agent that lays out slots, or the file was removed. Restore ${file} ({"format":1,"vg":…,"slots":{"A":"root","B":"back"},"carryOver":{…}}); nothing was changed.`,
      { file },
    );
  }
  let document: Partial<SlotLayout>;
  try {
    document = JSON.parse(text) as Partial<SlotLayout>;
  } catch (error) {
    throw unreadable(file, `it is not JSON: ${(error as Error).message}`);
  }
  const problem = layoutProblem(document);
  if (problem) throw unreadable(file, problem);
  return document as SlotLayout;
}

function layoutProblem(document: Partial<SlotLayout>): string | undefined {
  if (document.format !== 1) return `format is ${JSON.stringify(document.format)}, this agent reads format 1`;
  if (typeof document.vg !== "string" || !NAME.test(document.vg)) return "vg is not a volume group name";
  for (const slot of SLOT_NAMES) if (typeof document.slots?.[slot] !== "string" || !NAME.test(document.slots[slot])) return `slots.${slot} is not a logical volume name`;
  if (document.slots!.A === document.slots!.B) return "slots A and B name the same logical volume";
  const carry = document.carryOver;
  if (!carry || !Array.isArray(carry.accounts) || !Array.isArray(carry.paths) || typeof carry.network !== "boolean") return "carryOver needs accounts, paths and network";
  return document.snapshots === undefined ? undefined : snapshotsProblem(document.snapshots);
}

function snapshotsProblem(snapshots: Partial<SnapshotsSpec>): string | undefined {
  const percent = (value: unknown, min: number, max: number) => typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
  if (typeof snapshots.reserve !== "string") return "snapshots.reserve is not a size";
  if (!percent(snapshots.cowPercent, 1, 100)) return "snapshots.cowPercent is not a percentage from 1 to 100";
  if (!percent(snapshots.extendAtPercent, 50, 95)) return "snapshots.extendAtPercent is not a percentage from 50 to 95";
  if (snapshots.factoryLv !== undefined && (typeof snapshots.factoryLv !== "string" || !NAME.test(snapshots.factoryLv))) return "snapshots.factoryLv is not a logical volume name";
  if (typeof snapshots.beforeInstall !== "boolean") return "snapshots.beforeInstall is not true or false";
  return undefined;
}

function unreadable(file: string, problem: string): InstallError {
  return new InstallError(`${file} cannot be read: ${problem}`, `Restore ${file} as the migration wrote it; nothing was changed.`, { file });
}

