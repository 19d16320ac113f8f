import { listLogicalVolumes } from "../lvm/logical-volumes.ts";
import type { Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";
import { mergeEntries } from "./merge-entries.ts";
import { performOperation } from "./operation.ts";
import { readSnapshotRecord } from "./records.ts";
import { snapshotVolumes } from "./snapshot-facts.ts";

/**
 * The rescue system's half of `snapshot merge` into an LV that was in use: nothing of the VG is
 * mounted here, so every origin can be merged. Idempotent from any point (a power cut mid-merge,
 * after the LVs are gone, after the slot state was put back): what is done is skipped, what is
 * under way is waited for (merge-entries.ts). The caller clears the rescue task afterwards.
 */
export async function completePendingMerge(ctx: { run: Runner; log: Log; bootMount: string; vg: string }, task: { task: "merge"; snapshot: string }): Promise<void> {
  const lvs = await listLogicalVolumes(ctx.run, ctx.vg);
  const volumes = snapshotVolumes(lvs, task.snapshot);
  const record = readSnapshotRecord(ctx.bootMount, task.snapshot);
  if (volumes.length === 0 && record === null) {
    ctx.log.info(`snapshot ${task.snapshot}: merged already (no LV and no record left)`);
    return;
  }
  ctx.log.info(`snapshot ${task.snapshot}: merging ${volumes.map((v) => `${ctx.vg}/${v.name} into ${ctx.vg}/${v.origin}${v.merging ? " (under way)" : ""}`).join(", ") || "nothing left (its LVs are gone)"}`);
  const entries = mergeEntries(ctx.vg, ctx.bootMount, task.snapshot, volumes, lvs, record);
  await performOperation(ctx.run, ctx.log, ctx.vg, { command: `merge ${task.snapshot}`, facts: [], entries, done: "" });
  ctx.log.info(`snapshot ${task.snapshot}: merged`);
}
