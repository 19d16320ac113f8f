import { command } from "../steps/entry.ts";
import type { SnapshotOperation } from "./operation.ts";
import { snapshotNameOf } from "./names.ts";
import { lvNamed, type SnapshotFacts } from "./snapshot-facts.ts";
import { extentsOf, gib } from "./volume-group.ts";

export interface WatchPlan extends SnapshotOperation {
  /** Said on stderr (the journal, under the timer's unit) each run until it is dealt with. */
  warnings: string[];
}

/**
 * `snapshot watch` (va-snapshot-watch.timer, each minute): a snapshot fuller than
 * `extendAtPercent` grows by `cowPercent` of its origin while the VG has room; the VG's free space
 * is counted down as the extensions are planned. One that cannot grow, and an invalid one, is a
 * warning saying how full it is and what to do. A merging one is left alone. Without snapshot
 * settings there is nothing to watch (the timer runs on every slot box): a message, no failure.
 */
export function planWatch(facts: SnapshotFacts): WatchPlan {
  const settings = facts.layout.snapshots;
  if (!settings) return { command: "watch", facts: [], entries: [], warnings: [], done: "nothing to watch: snapshots are not turned on on this box (its slot layout has no snapshots settings)" };
  const { vg } = facts.layout;
  let free = facts.space.freeBytes;
  const extensions: { lv: string; bytes: number; percent: number }[] = [];
  const warnings: string[] = [];
  for (const lv of facts.lvs) {
    const name = snapshotNameOf(lv.tags);
    if (name === null || lv.merging) continue;
    if (lv.invalid) {
      warnings.push(`snapshot ${name}: ${vg}/${lv.name} is INVALID (its COW overflowed): it no longer holds ${lv.origin}'s old state; remove it with \`va-agent snapshot delete ${name}\``);
      continue;
    }
    if (lv.snapPercent === null || lv.snapPercent < settings.extendAtPercent) continue;
    const bytes = extentsOf(lvNamed(facts.lvs, lv.origin ?? "")?.sizeBytes ?? lv.sizeBytes, settings.cowPercent, facts.space.extentBytes);
    if (bytes > free) {
      warnings.push(
        `snapshot ${name}: ${vg}/${lv.name} is ${lv.snapPercent.toFixed(2)}% full and volume group ${vg} has ${gib(free)} free, not the ${gib(bytes)} to extend it: at 100% it becomes invalid. Merge it (\`va-agent snapshot merge ${name}\`) or delete it or other snapshots (\`va-agent snapshot delete NAME\`).`,
      );
      continue;
    }
    free -= bytes;
    extensions.push({ lv: lv.name, bytes, percent: lv.snapPercent });
  }
  return {
    command: "watch",
    facts: [`threshold: extend above ${settings.extendAtPercent}% by ${settings.cowPercent}% of the origin; VG ${vg} has ${gib(facts.space.freeBytes)} free`],
    entries: extensions.map((e) => command(["lvm", "lvextend", "--yes", "--size", `+${e.bytes}b`, `${vg}/${e.lv}`])),
    warnings,
    done: extensions.length === 0 ? "no snapshot needed more room" : `extended ${extensions.map((e) => `${vg}/${e.lv} (${e.percent.toFixed(2)}% full) by ${gib(e.bytes)}`).join(", ")}`,
  };
}
