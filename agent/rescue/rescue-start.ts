import { StepFailedError } from "../errors/errors.ts";
import { readFactoryResetFacts } from "./factory-reset-facts.ts";
import { runFactoryReset, type FactoryResetTools } from "./factory-reset.ts";
import { activateVolumeGroupArgv, type RescueContext } from "./rescue-context.ts";
import { rescueStatus, type RescueStatus } from "./rescue-status.ts";
import { clearRescueTask, pendingRescueTask, type RescueTask } from "./rescue-task.ts";
import type { SnapshotTools } from "./snapshot-tools.ts";

/** What the operator can do in the rescue system (docs/RESCUE.md "The rescue entry"). */
export const RESCUE_MENU = `what the rescue system can do:
  va-agent rescue status                                 slots, snapshots, factory point, pending task
  va-agent rescue factory-reset [--wipe-data] [--yes] [--dry-run]
                                                         slot A back to the factory release (/data kept unless --wipe-data)
  va-agent rescue install BUNDLE|--label LABEL [--path P] [--slot A|B] [--dry-run]
                                                         a slot image into a slot, from a path, a USB stick or the data LV
  va-agent slot activate A|B --boot-dir /boot/va; reboot -f
                                                         boot a slot that is installed
`;

export type RescueStartResult = { task: RescueTask } | { task: null; status: RescueStatus };

/**
 * `va-agent rescue start`, which the rescue system's start script runs: the VG activated, a pending
 * task finished (its progress on the console) and cleared: the caller then reboots; without one,
 * the status (the caller prints it and the menu), and the start script leaves the operator a shell.
 */
export async function rescueStart(rctx: RescueContext, tools: SnapshotTools, resetTools: FactoryResetTools): Promise<RescueStartResult> {
  await rctx.run.run(activateVolumeGroupArgv(rctx.vg));
  const task = pendingRescueTask(rctx.bootMount);
  if (!task) return { task: null, status: await rescueStatus(rctx, tools) };
  if (task.task === "merge") {
    rctx.log.info(`rescue task: the merge of snapshot ${task.snapshot} (requested ${task.requestedAt})`);
    try {
      await tools.completePendingMerge({ run: rctx.run, log: rctx.log, bootMount: rctx.bootMount, vg: rctx.vg }, { task: "merge", snapshot: task.snapshot });
    } catch (error) {
      throw new StepFailedError(
        "rescue merge",
        error,
        `The merge of snapshot ${task.snapshot} stays the pending rescue task: every boot comes back to the rescue system, which continues it (\`va-agent rescue start\` now). To give it up: \`va-agent rescue clear-task\`, then \`va-agent rescue status\`.`,
      );
    }
    clearRescueTask(rctx.bootMount);
    rctx.log.info(`snapshot ${task.snapshot} merged; the rescue task is cleared`);
  } else {
    rctx.log.info(`rescue task: the factory reset, ${task.wipeData ? "wiping" : "keeping"} the data (requested ${task.requestedAt})`);
    const facts = await readFactoryResetFacts(rctx, tools, task.wipeData);
    await runFactoryReset({ rctx, facts, tools: resetTools });
  }
  return { task };
}
