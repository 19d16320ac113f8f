import { SnapshotError, UsageError } from "../errors/errors.ts";
import type { LogicalVolume } from "../lvm/logical-volumes.ts";
import { readSlotMetadata } from "../slots/slot-metadata.ts";
import type { SlotLayout } from "../slots/slot-layout.ts";
import { command, write, type Entry } from "../steps/entry.ts";
import { RESERVE_PLACEHOLDER_LV, requireSnapshotName, snapshotLvName, snapshotTag, SNAPSHOT_TAG } from "./names.ts";
import type { SnapshotOperation } from "./operation.ts";
import { readSnapshotRecord, snapshotRecordPath, writeSnapshotRecord, type SnapshotRecord } from "./records.ts";
import { lvNamed, slotOfLv, snapshotSettings, snapshotVolumes, type SnapshotFacts } from "./snapshot-facts.ts";
import { extentsOf, gib } from "./volume-group.ts";

export interface PlannedSnapshot {
  origin: LogicalVolume;
  snapshotLv: string;
  cowBytes: number;
}

/**
 * `snapshot create NAME [--lv LV…]` (default: the booted slot's LV): refused before anything is
 * written for a bad or taken name, an LV that cannot be snapshotted, or a VG without room for
 * `cowPercent` of each origin.
 */
export function planCreate(facts: SnapshotFacts, name: string, requested: readonly string[]): SnapshotOperation {
  requireSnapshotName(name);
  const planned = plannedSnapshots(facts, name, requested);
  const { vg } = facts.layout;
  const needed = planned.reduce((sum, p) => sum + p.cowBytes, 0);
  return {
    command: `create ${name}`,
    facts: [
      `origins : ${planned.map((p) => `${vg}/${p.origin.name} (${gib(p.origin.sizeBytes)}${describeSlot(facts, p.origin.name)})`).join(", ")}`,
      `COW     : ${planned.map((p) => `${gib(p.cowBytes)} for ${p.snapshotLv}`).join(", ")} (${snapshotSettings(facts.layout).cowPercent}% of each origin); VG ${vg} has ${gib(facts.space.freeBytes)} free`,
    ],
    entries: createEntries(facts, name, planned),
    done: `snapshot ${name} taken: ${planned.map((p) => `${vg}/${p.snapshotLv}`).join(", ")} (${gib(needed)} of COW)`,
  };
}

/** The LVs and the record; shared with install's before-upgrade snapshot. */
export function createEntries(facts: SnapshotFacts, name: string, planned: readonly PlannedSnapshot[]): Entry[] {
  const { vg } = facts.layout;
  return [
    ...planned.map((p) =>
      command(["lvm", "lvcreate", "--yes", "--snapshot", "--name", p.snapshotLv, "--size", `${p.cowBytes}b`, "--addtag", SNAPSHOT_TAG, "--addtag", snapshotTag(name), `${vg}/${p.origin.name}`]),
    ),
    write(snapshotRecordPath(facts.bootMount, name), `the record of ${name}: its time, origins and the slot state of ${planned.map((p) => slotOfLv(facts.layout, p.origin.name)).filter(Boolean).join(", ") || "no slot"}`, () =>
      writeSnapshotRecord(facts.bootMount, snapshotRecordOf(facts.bootMount, facts.layout, name, facts.now, planned.map((p) => ({ lv: p.origin.name, snapshotLv: p.snapshotLv })))),
    ),
  ];
}

function plannedSnapshots(facts: SnapshotFacts, name: string, requested: readonly string[]): PlannedSnapshot[] {
  const settings = snapshotSettings(facts.layout);
  const { vg } = facts.layout;
  if (snapshotVolumes(facts.lvs, name).length > 0 || readSnapshotRecord(facts.bootMount, name) !== null) {
    throw new SnapshotError(
      `a snapshot named ${name} exists already`,
      `Choose another name, or delete the old one first (\`va-agent snapshot delete ${name}\`); nothing was changed.`,
      { refusal: "exists", name },
    );
  }
  const origins = [...new Set(requested.length > 0 ? requested : [bootedSlotLv(facts)])].map((lv) => snapshottable(facts, lv));
  const planned = origins.map((origin) => ({ origin, snapshotLv: snapshotLvName(origin.name, name), cowBytes: extentsOf(origin.sizeBytes, settings.cowPercent, facts.space.extentBytes) }));
  const needed = planned.reduce((sum, p) => sum + p.cowBytes, 0);
  if (needed > facts.space.freeBytes) {
    throw new SnapshotError(
      `no room for snapshot ${name}: it needs ${needed} bytes (${gib(needed)}: ${settings.cowPercent}% of ${planned.map((p) => `${p.origin.name} ${gib(p.origin.sizeBytes)}`).join(", ")}), volume group ${vg} has ${facts.space.freeBytes} bytes (${gib(facts.space.freeBytes)}) free`,
      "Delete snapshots you no longer need (`va-agent snapshot list`, `va-agent snapshot delete NAME`) or snapshot fewer LVs; nothing was changed.",
      { refusal: "no-room", name, neededBytes: needed, freeBytes: facts.space.freeBytes },
    );
  }
  return planned;
}

function bootedSlotLv(facts: SnapshotFacts): string {
  if (facts.booted) return facts.layout.slots[facts.booted];
  throw new UsageError(
    "no LV named and this system was not booted through the slot menu (no va.slot= on the kernel command line): which LV to snapshot?",
    `Name it: \`va-agent snapshot create NAME --lv ${facts.layout.slots.A}\`.`,
  );
}

function snapshottable(facts: SnapshotFacts, name: string): LogicalVolume {
  const { vg } = facts.layout;
  const lv = lvNamed(facts.lvs, name);
  const refuse = (why: string, refusal: string) => new SnapshotError(`cannot snapshot ${vg}/${name}: ${why}`, "Name an LV of the slots or the data (`lvm lvs " + vg + "`); nothing was changed.", { refusal, lv: name });
  if (!lv) throw refuse(`volume group ${vg} has no such LV (it has ${facts.lvs.filter((l) => l.origin === null).map((l) => l.name).join(", ")})`, "unknown-lv");
  if (lv.origin !== null) throw refuse(`it is itself a snapshot (of ${lv.origin})`, "snapshot-of-snapshot");
  if (name === facts.layout.snapshots?.factoryLv) throw refuse("it is the factory image, which is never written", "factory-lv");
  if (name === RESERVE_PLACEHOLDER_LV) throw refuse("it is the migration's placeholder", "reserved-lv");
  if (lv.merging) throw refuse("a snapshot is being merged into it", "merging");
  return lv;
}

/** The record of a snapshot NAME just taken: each origin, and the slot state of the slot origins from slots.json now. */
export function snapshotRecordOf(bootMount: string, layout: Pick<SlotLayout, "vg" | "slots">, name: string, now: string, origins: readonly { lv: string; snapshotLv: string }[]): SnapshotRecord {
  const metadata = readSlotMetadata(bootMount);
  return {
    format: 1,
    name,
    vg: layout.vg,
    createdAt: now,
    origins: origins.map(({ lv, snapshotLv }) => {
      const slot = slotOfLv(layout, lv);
      return { lv, snapshotLv, slot, slotState: slot ? metadata.slots[slot] : null };
    }),
  };
}

function describeSlot(facts: SnapshotFacts, lv: string): string {
  const slot = slotOfLv(facts.layout, lv);
  if (!slot) return "";
  return `, slot ${slot}${slot === facts.booted ? ", running" : ""}`;
}
