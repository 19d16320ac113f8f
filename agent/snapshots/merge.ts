import { SnapshotError } from "../errors/errors.ts";
import { pendingRescueTask, requestRescueTask, rescueTaskPath, RESCUE_TASK_VARIABLE } from "../rescue/rescue-task.ts";
import { grubenvPath } from "../slots/slot-paths.ts";
import { command, write } from "../steps/entry.ts";
import { mergeEntries } from "./merge-entries.ts";
import { requireSnapshotName } from "./names.ts";
import type { SnapshotOperation } from "./operation.ts";
import { readSnapshotRecord } from "./records.ts";
import { lvNamed, snapshotSettings, snapshotVolumes, type SnapshotFacts } from "./snapshot-facts.ts";

export interface MergePlan extends SnapshotOperation {
  /** "now": merged by this run; "rescue": the rescue system does it at the next boot. */
  when: "now" | "rescue";
}

/**
 * `snapshot merge NAME [--no-reboot]`. An invalid snapshot is refused. When no origin (nor
 * snapshot) is open, the merge runs now. When one is (the booted slot, a mounted /data), LVM would
 * only start it at the next activation, and GRUB would meanwhile boot the kernel of the unmerged
 * slot LV: the rescue system does it instead (a rescue task), and the box reboots into it.
 */
export function planMerge(facts: SnapshotFacts, name: string, options: { reboot: boolean }): MergePlan {
  requireSnapshotName(name);
  snapshotSettings(facts.layout);
  const { vg } = facts.layout;
  const volumes = snapshotVolumes(facts.lvs, name);
  const record = readSnapshotRecord(facts.bootMount, name);
  if (volumes.length === 0) {
    throw new SnapshotError(
      record ? `snapshot ${name} has no LVs left (merged or removed already); only its record is there` : `there is no snapshot named ${name}`,
      record ? `Remove the record with \`va-agent snapshot delete ${name}\`; nothing was changed.` : "`va-agent snapshot list` shows the snapshots; nothing was changed.",
      { refusal: record ? "no-volumes" : "unknown", name },
    );
  }
  const entries = mergeEntries(vg, facts.bootMount, name, volumes, facts.lvs, record);
  const inUse = volumes.filter((v) => v.open || v.merging || lvNamed(facts.lvs, v.origin ?? "")?.open);
  const head = [
    `snapshot : ${volumes.map((v) => `${vg}/${v.name} of ${vg}/${v.origin}`).join(", ")}`,
    `record   : ${record ? `taken ${record.createdAt}; the slot state of ${record.origins.filter((o) => o.slot).map((o) => `slot ${o.slot}`).join(", ") || "no slot"} is put back` : "none: the slot state stays as it is"}`,
  ];
  if (inUse.length === 0) {
    return { command: `merge ${name}`, when: "now", facts: [...head, "in use   : none of the origins is open: merged now"], entries, done: `snapshot ${name} merged into ${volumes.map((v) => `${vg}/${v.origin}`).join(", ")}` };
  }
  refuseOtherTask(facts.bootMount, name);
  const why = inUse.map((v) => (v.merging ? `${vg}/${v.name} is merging already` : `${vg}/${v.origin} is in use`)).join(", ");
  return {
    command: `merge ${name}`,
    when: "rescue",
    facts: [...head, `in use   : ${why}: the rescue system merges it at the next boot (nothing of the VG is mounted there), then boots the slots again`],
    entries: [
      write(`${rescueTaskPath(facts.bootMount)}, ${grubenvPath(facts.bootMount)}`, `rescue task "merge ${name}", then ${RESCUE_TASK_VARIABLE}=merge: every boot goes to the rescue system until it is done`, () =>
        requestRescueTask(facts.bootMount, { task: "merge", snapshot: name, requestedAt: facts.now }),
      ),
      ...(options.reboot ? [command(["systemctl", "reboot"])] : []),
    ],
    done: `the merge of ${name} is a rescue task: ${options.reboot ? "rebooting into the rescue system, which merges it and boots the slots again" : "the next boot goes to the rescue system, which merges it (reboot when ready: `systemctl reboot`)"}`,
  };
}

function refuseOtherTask(bootMount: string, name: string): void {
  const pending = pendingRescueTask(bootMount);
  if (!pending || (pending.task === "merge" && pending.snapshot === name)) return;
  throw new SnapshotError(
    `a rescue task is pending already: ${pending.task === "merge" ? `the merge of ${pending.snapshot}` : "a factory reset"} (requested ${pending.requestedAt})`,
    "Reboot to let the rescue system finish it, then merge again; nothing was changed.",
    { refusal: "task-pending", pending: pending.task },
  );
}
