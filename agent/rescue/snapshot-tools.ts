import type { Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";
import { copyBlockDevice } from "../snapshots/block-copy.ts";
import { readFactoryRecord, type FactoryRecord } from "../snapshots/factory-point.ts";
import { completePendingMerge } from "../snapshots/pending-merge.ts";

export type { FactoryRecord };

/**
 * What the rescue system takes from agent/snapshots/: reading the factory point, copying a block
 * device with its SHA-256, finishing a merge. Passed in, so tests give their own.
 */
export interface SnapshotTools {
  readFactoryRecord(bootMount: string): FactoryRecord | null;
  copyBlockDevice(from: string, to: string, options: { bytes: number; progress?: (done: number, total: number) => void }): Promise<{ sha256: string; bytes: number }>;
  completePendingMerge(ctx: { run: Runner; log: Log; bootMount: string; vg: string }, task: { task: "merge"; snapshot: string }): Promise<void>;
}

export const SNAPSHOT_TOOLS: SnapshotTools = { readFactoryRecord, copyBlockDevice, completePendingMerge };
