import { SnapshotError } from "../errors/errors.ts";
import { listLogicalVolumes, lvsArgv, type LogicalVolume } from "../lvm/logical-volumes.ts";
import { check, command, write, type Entry } from "../steps/entry.ts";
import { MERGE_POLL_SECONDS, MERGE_TIMEOUT_SECONDS } from "./merge-progress.ts";
import { removeSnapshotRecord, snapshotRecordPath, type SnapshotRecord } from "./records.ts";
import { lvNamed, snapshotVolumes } from "./snapshot-facts.ts";
import { slotRestoreEntries } from "./slot-restore.ts";

const INTERVAL = ["--interval", String(MERGE_POLL_SECONDS)];
const LONG = { timeoutSeconds: MERGE_TIMEOUT_SECONDS };

/**
 * Merging a snapshot set whose origins are not open (an idle LV now, or anything in the rescue
 * system), from whatever point a previous run reached:
 * - an LV gone: merged already (LVM removes a merged snapshot);
 * - a merge under way or flagged (a power cut, a merge deferred while the origin was open):
 *   `lvconvert --merge` refuses a merging snapshot ("is already merging"), so `lvchange --refresh`
 *   of the origin starts a deferred merge (both closed now), and `lvpoll --polloperation merge`
 *   waits for it in the foreground and removes the snapshot from the metadata; when the kernel had
 *   finished but LVM still listed the snapshot, that first poll is the end of it;
 * - otherwise `lvconvert --merge` (foreground: it polls until the merge is done), the origin
 *   activated first when it is not active (an inactive origin's merge would wait for its activation).
 * Then lvs must list none of the set, the slot state is put back from the record, the record goes.
 */
export function mergeEntries(vg: string, bootMount: string, name: string, volumes: readonly LogicalVolume[], lvs: readonly LogicalVolume[], record: SnapshotRecord | null): Entry[] {
  for (const volume of volumes) refuseInvalid(vg, name, volume);
  return [
    ...volumes.flatMap((volume) => volumeEntries(vg, volume, lvs)),
    check(`lvs lists no LV of ${name} any more: merged into ${volumes.map((v) => `${vg}/${v.origin}`).join(", ") || "its origins"}`, async (ctx) => {
      const left = snapshotVolumes(await listLogicalVolumes(ctx.run, vg), name);
      if (left.length === 0) return;
      throw new SnapshotError(
        `the merge of ${name} did not finish: lvs still lists ${left.map((lv) => `${vg}/${lv.name}${lv.merging ? " (merging)" : ""}`).join(", ")}`,
        "Run the same command again: it continues a merge from where it stopped (`lvm lvs -a` shows its state).",
        { refusal: "merge-unfinished", name },
      );
    }, [lvsArgv(vg)]),
    ...slotRestoreEntries(bootMount, record),
    write(snapshotRecordPath(bootMount, name), "removed: the snapshot is merged", () => removeSnapshotRecord(bootMount, name)),
  ];
}

function volumeEntries(vg: string, volume: LogicalVolume, lvs: readonly LogicalVolume[]): Entry[] {
  const origin = `${vg}/${volume.origin}`;
  if (volume.merging) {
    return [
      command(["lvm", "lvchange", "--refresh", origin]),
      // judged by the lvs check after it: a poll that finds the merge already finished may say so with a non-zero exit
      command(["lvm", "lvpoll", "--polloperation", "merge", ...INTERVAL, origin], { options: { ...LONG, allowFailure: true } }),
    ];
  }
  const activate = lvNamed(lvs, volume.origin ?? "")?.active === false ? [command(["lvm", "lvchange", "--activate", "y", origin])] : [];
  return [...activate, command(["lvm", "lvconvert", "--merge", ...INTERVAL, `${vg}/${volume.name}`], { options: LONG })];
}

function refuseInvalid(vg: string, name: string, volume: LogicalVolume): void {
  if (!volume.invalid) return;
  throw new SnapshotError(
    `snapshot ${name} cannot be merged: ${vg}/${volume.name} is invalid (its COW overflowed, or a merge of it failed)`,
    `An invalid snapshot no longer holds its origin's old blocks: remove it with \`va-agent snapshot delete ${name}\`. ${vg}/${volume.origin} was not changed.`,
    { refusal: "invalid", name, lv: volume.name },
  );
}
