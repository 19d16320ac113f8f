import { SnapshotError } from "../errors/errors.ts";
import { command, write } from "../steps/entry.ts";
import { requireSnapshotName } from "./names.ts";
import type { SnapshotOperation } from "./operation.ts";
import { readSnapshotRecord, removeSnapshotRecord, snapshotRecordPath } from "./records.ts";
import { snapshotVolumes, type SnapshotFacts } from "./snapshot-facts.ts";

/** `snapshot delete NAME`: its LVs (invalid ones too), then its record. A merging one is the rescue system's to finish. */
export function planDelete(facts: Pick<SnapshotFacts, "layout" | "lvs" | "bootMount">, name: string): SnapshotOperation {
  requireSnapshotName(name);
  const { vg } = facts.layout;
  const volumes = snapshotVolumes(facts.lvs, name);
  const record = readSnapshotRecord(facts.bootMount, name);
  if (volumes.length === 0 && !record) {
    throw new SnapshotError(`there is no snapshot named ${name}`, "`va-agent snapshot list` shows the snapshots; nothing was changed.", { refusal: "unknown", name });
  }
  const merging = volumes.filter((v) => v.merging);
  if (merging.length > 0) {
    throw new SnapshotError(
      `snapshot ${name} is being merged (${merging.map((v) => `${vg}/${v.name} into ${vg}/${v.origin}`).join(", ")}): LVM cannot remove it`,
      "Let the merge finish (the rescue system completes it at the next boot; `va-agent snapshot list` shows it); nothing was changed.",
      { refusal: "merging", name },
    );
  }
  return {
    command: `delete ${name}`,
    facts: [`snapshot : ${volumes.map((v) => `${vg}/${v.name} of ${vg}/${v.origin}${v.invalid ? " (invalid)" : ""}`).join(", ") || "no LVs left"}; record ${record ? "present" : "absent"}`],
    entries: [...volumes.map((v) => command(["lvm", "lvremove", "--yes", `${vg}/${v.name}`])), write(snapshotRecordPath(facts.bootMount, name), "removed", () => removeSnapshotRecord(facts.bootMount, name))],
    done: `snapshot ${name} deleted${volumes.length > 0 ? `: ${volumes.map((v) => `${vg}/${v.name}`).join(", ")} removed` : " (its record)"}`,
  };
}
