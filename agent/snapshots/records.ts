import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { modeAndOwnerOf, syncDirectory, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { SnapshotError } from "../errors/errors.ts";
import type { SlotName } from "../slots/slot-env.ts";
import type { SlotRecord } from "../slots/slot-metadata.ts";

/**
 * What LVM cannot keep of a snapshot: when it was taken and the slot state of each slot origin at
 * that moment (a merge puts it back). `va-agent/snapshots/NAME.json` on the shared boot partition,
 * written after the LVs (a cut between leaves LVs without a record: listed as such, still mergeable).
 */
export const SNAPSHOTS_DIR = "va-agent/snapshots";

export interface SnapshotOrigin {
  lv: string;
  snapshotLv: string;
  /** The slot whose LV this is; null for any other LV (/data). */
  slot: SlotName | null;
  /** That slot's record in slots.json when the snapshot was taken. */
  slotState: SlotRecord | null;
}

export interface SnapshotRecord {
  format: 1;
  name: string;
  vg: string;
  createdAt: string;
  origins: SnapshotOrigin[];
}

export function snapshotRecordPath(bootMount: string, name: string): string {
  return join(bootMount, SNAPSHOTS_DIR, `${name}.json`);
}

export function writeSnapshotRecord(bootMount: string, record: SnapshotRecord): void {
  const path = snapshotRecordPath(bootMount, record.name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomically(path, `${JSON.stringify(record, null, 2)}\n`, modeAndOwnerOf(path, 0o644));
}

export function readSnapshotRecord(bootMount: string, name: string): SnapshotRecord | null {
  const path = snapshotRecordPath(bootMount, name);
  const doc = readJsonRecord<SnapshotRecord>(path, (problem) => damaged(path, problem));
  if (doc === null) return null;
  if (doc.format !== 1 || doc.name !== name || typeof doc.createdAt !== "string" || !Array.isArray(doc.origins)) {
    throw damaged(path, "it lacks format 1, its name, createdAt or origins");
  }
  return doc as SnapshotRecord;
}

/** A JSON record on the shared boot partition: null when absent; `damaged` names the problem when it is not JSON. */
export function readJsonRecord<T>(path: string, damaged: (problem: string) => Error): Partial<T> | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    return JSON.parse(text) as Partial<T>;
  } catch (error) {
    throw damaged(`not JSON: ${(error as Error).message}`);
  }
}

/** The names of the records present (a record whose LVs are gone is listed too). */
export function snapshotRecordNames(bootMount: string): string[] {
  try {
    return readdirSync(join(bootMount, SNAPSHOTS_DIR)).filter((file) => file.endsWith(".json")).map((file) => file.slice(0, -5)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

export function removeSnapshotRecord(bootMount: string, name: string): void {
  const path = snapshotRecordPath(bootMount, name);
  rmSync(path, { force: true });
  syncDirectory(dirname(path));
}

function damaged(path: string, problem: string): SnapshotError {
  return new SnapshotError(
    `${path} cannot be read: ${problem}`,
    "The snapshot's LVs are untouched. Remove the file to go on without its slot state (a merge then leaves the slot state as it is), or restore it; nothing was changed.",
    { refusal: "record-damaged", file: path },
  );
}
