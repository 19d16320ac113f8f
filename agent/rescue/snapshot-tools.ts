import type { Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";
import type { FactoryRecord } from "../snapshots/factory-point.ts";

export type { FactoryRecord };

/**
 * What the rescue system takes from agent/snapshots/: reading the factory point, copying a block
 * device with its SHA-256, finishing a merge. Passed in (tests give their own); the defaults are
 * loaded when a command first needs them.
 */
export interface SnapshotTools {
  readFactoryRecord(bootMount: string): FactoryRecord | null;
  copyBlockDevice(from: string, to: string, options: { bytes: number; progress?: (done: number, total: number) => void }): Promise<{ sha256: string; bytes: number }>;
  completePendingMerge(ctx: { run: Runner; log: Log; bootMount: string; vg: string }, task: { task: "merge"; snapshot: string }): Promise<void>;
}

export async function loadSnapshotTools(): Promise<SnapshotTools> {
  const [factory, copy, merge] = await Promise.all([import("../snapshots/factory-point.ts"), import("../snapshots/block-copy.ts"), import("../snapshots/pending-merge.ts")]);
  return { readFactoryRecord: factory.readFactoryRecord, copyBlockDevice: copy.copyBlockDevice, completePendingMerge: merge.completePendingMerge };
}
