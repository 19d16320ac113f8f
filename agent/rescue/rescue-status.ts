import { VaError } from "../errors/errors.ts";
import { listLogicalVolumes } from "../lvm/logical-volumes.ts";
import { SNAPSHOT_TAG } from "../snapshots/names.ts";
import { renderSlotStatus, slotStatus, type SlotStatusReport } from "../slots/slot-status.ts";
import { fileSlotStore } from "../slots/slot-store.ts";
import type { RescueContext } from "./rescue-context.ts";
import { pendingRescueTask, type RescueTask } from "./rescue-task.ts";
import type { FactoryRecord, SnapshotTools } from "./snapshot-tools.ts";

export interface RescueSnapshot {
  lv: string;
  origin: string;
  sizeBytes: number;
  usePercent: number | null;
  invalid: boolean;
  merging: boolean;
}

/** `va-agent rescue status`: what the rescue system can act on. */
export interface RescueStatus {
  bootDir: string;
  vg: string;
  slots: SlotStatusReport;
  snapshots: RescueSnapshot[];
  factory: FactoryRecord | null;
  task: RescueTask | null;
  /** The task records cannot be read (the error's message): `rescue clear-task` after a look. */
  taskProblem: string | null;
}

export async function rescueStatus(rctx: RescueContext, tools: Pick<SnapshotTools, "readFactoryRecord">): Promise<RescueStatus> {
  const snapshots = (await listLogicalVolumes(rctx.run, rctx.vg))
    .filter((lv) => lv.tags.includes(SNAPSHOT_TAG) && lv.origin !== null)
    .map((lv): RescueSnapshot => ({ lv: lv.name, origin: lv.origin!, sizeBytes: lv.sizeBytes, usePercent: lv.snapPercent, invalid: lv.invalid, merging: lv.merging }));
  let task: RescueTask | null = null;
  let taskProblem: string | null = null;
  try {
    task = pendingRescueTask(rctx.bootMount);
  } catch (error) {
    if (!(error instanceof VaError)) throw error;
    taskProblem = error.message;
  }
  const slots = slotStatus({ ...fileSlotStore(rctx.bootMount).read(), rescueTaskRecord: task }, "rescue");
  return { bootDir: rctx.bootMount, vg: rctx.vg, slots, snapshots, factory: tools.readFactoryRecord(rctx.bootMount), task, taskProblem };
}

export function renderRescueStatus(status: RescueStatus): string {
  const lines = [renderSlotStatus(status.slots).trimEnd(), "", `snapshots (VG ${status.vg}):`];
  if (status.snapshots.length === 0) lines.push("  none");
  for (const s of status.snapshots) {
    const state = s.invalid ? "INVALID (only delete)" : s.merging ? "merging" : `${s.usePercent ?? 0}% used`;
    lines.push(`  ${s.lv} of ${s.origin}: ${gib(s.sizeBytes)}, ${state}`);
  }
  const f = status.factory;
  lines.push("", `factory point: ${f ? `${f.product} ${f.release} of slot ${f.slot}, LV ${status.vg}/${f.lv}, ${gib(f.bytes)}, recorded ${f.recordedAt}` : "none recorded (factory-reset is not possible)"}`);
  lines.push(`pending task : ${describeTask(status)}`);
  return `${lines.join("\n")}\n`;
}

function describeTask(status: RescueStatus): string {
  if (status.taskProblem) return `unreadable: ${status.taskProblem} (\`va-agent rescue clear-task\` after a look)`;
  const task = status.task;
  if (!task) return "none";
  if (task.task === "merge") return `the merge of snapshot ${task.snapshot} (requested ${task.requestedAt}): \`va-agent rescue start\` finishes it`;
  return `factory reset, ${task.wipeData ? "wiping" : "keeping"} the data (requested ${task.requestedAt}): \`va-agent rescue start\` finishes it`;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
