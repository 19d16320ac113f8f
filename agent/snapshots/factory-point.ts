import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { SnapshotError } from "../errors/errors.ts";
import { listLogicalVolumes, lvsArgv, type LogicalVolume } from "../lvm/logical-volumes.ts";
import { readSlotMetadata } from "../slots/slot-metadata.ts";
import { check, command, write, type Entry } from "../steps/entry.ts";
import { copyBlockDevice } from "./block-copy.ts";
import { FACTORY_SOURCE_NAME, snapshotLvName } from "./names.ts";
import type { SnapshotOperation } from "./operation.ts";
import { lvNamed, type SnapshotFacts } from "./snapshot-facts.ts";
import { readJsonRecord } from "./records.ts";
import { extentsOf, gib } from "./volume-group.ts";

/**
 * The factory point (docs/RESCUE.md "Factory point"): slot A's LV at its first healthy boot, copied
 * into the manifest's factoryLv from a short-lived snapshot of it, hashed while written.
 * `va-agent/factory.json` on the shared boot partition is written last: a factory LV without it is
 * an unfinished copy, and the next run does it again.
 */
export const FACTORY_RECORD_FILE = "va-agent/factory.json";

export interface FactoryRecord {
  format: 1;
  product: string;
  release: string;
  slot: "A";
  /** The image LV (the manifest's snapshots.factoryLv). */
  lv: string;
  /** Slot A's LV it was copied from. */
  originLv: string;
  bytes: number;
  sha256: string;
  recordedAt: string;
}

export function factoryRecordPath(bootMount: string): string {
  return join(bootMount, FACTORY_RECORD_FILE);
}

/** The record, or null when the factory point was not (completely) recorded. */
export function readFactoryRecord(bootMount: string): FactoryRecord | null {
  const path = factoryRecordPath(bootMount);
  const doc = readJsonRecord<FactoryRecord>(path, (problem) => damagedRecord(path, problem));
  if (doc === null) return null;
  const fields = typeof doc.product === "string" && typeof doc.release === "string" && typeof doc.lv === "string" && typeof doc.originLv === "string" && typeof doc.recordedAt === "string";
  if (doc.format !== 1 || doc.slot !== "A" || !fields || !Number.isSafeInteger(doc.bytes) || !/^[0-9a-f]{64}$/.test(doc.sha256 ?? "")) {
    throw damagedRecord(path, "it is not a format 1 record of slot A with product, release, lv, originLv, bytes, sha256 and recordedAt");
  }
  return doc as FactoryRecord;
}

export interface FactoryPlan extends SnapshotOperation {
  /** Why nothing is to be done (the unit runs on every boot until the point is recorded). */
  skipped?: string;
}

/** `snapshot factory-record` (va-factory-point.service, after the commit unit). */
export function planFactoryRecord(facts: SnapshotFacts): FactoryPlan {
  const skip = (skipped: string): FactoryPlan => ({ command: "factory-record", facts: [], entries: [], done: skipped, skipped });
  const factoryLv = facts.layout.snapshots?.factoryLv;
  if (!factoryLv) return skip("no factory point on this box: its slot layout names no factory LV (manifest snapshots.factoryLv)");
  const recorded = readFactoryRecord(facts.bootMount);
  if (recorded) return skip(`the factory point is recorded already: ${recorded.product} ${recorded.release} of slot A in ${recorded.lv}, ${recorded.recordedAt}`);
  if (facts.booted !== "A") return skip(`the factory point is slot A's first healthy boot, and this is ${facts.booted ? `slot ${facts.booted}` : "not a slot"}`);
  const metadata = readSlotMetadata(facts.bootMount);
  if (metadata.slots.B.state !== "empty") return skip("slot B was installed since the migration: slot A is no longer sure to be the first install, the factory point is not recorded");
  const { vg } = facts.layout;
  const origin = requiredLv(facts, facts.layout.slots.A, "slot A");
  const image = requiredLv(facts, factoryLv, "the factory LV");
  if (image.sizeBytes < origin.sizeBytes) {
    throw new SnapshotError(
      `the factory LV ${vg}/${factoryLv} has ${image.sizeBytes} bytes (${gib(image.sizeBytes)}), slot A's ${vg}/${origin.name} ${origin.sizeBytes} (${gib(origin.sizeBytes)}): the image does not fit`,
      `Grow it (\`lvm lvextend --size ${origin.sizeBytes}b ${vg}/${factoryLv}\`), then run \`va-agent snapshot factory-record\`; nothing was changed.`,
      { refusal: "factory-too-small", lv: factoryLv },
    );
  }
  const { product, release } = metadata.slots.A;
  if (!product || !release) throw new SnapshotError("slots.json names no product and release for slot A", "Restore va-agent/slots.json on the shared boot partition as the migration wrote it; nothing was changed.", { refusal: "slot-a-unknown" });
  const source = snapshotLvName(origin.name, FACTORY_SOURCE_NAME);
  const leftover = lvNamed(facts.lvs, source);
  const cow = extentsOf(origin.sizeBytes, facts.layout.snapshots!.cowPercent, facts.space.extentBytes);
  const free = facts.space.freeBytes + (leftover?.sizeBytes ?? 0);
  if (cow > free) {
    throw new SnapshotError(
      `no room for the factory point's temporary snapshot of ${vg}/${origin.name}: it needs ${cow} bytes (${gib(cow)}), volume group ${vg} has ${free} bytes (${gib(free)}) free`,
      "Delete snapshots you no longer need (`va-agent snapshot list`), then run `va-agent snapshot factory-record` (the unit does at each boot until it is recorded); nothing was changed.",
      { refusal: "no-room", neededBytes: cow, freeBytes: free },
    );
  }
  const record = (result: { sha256: string; bytes: number }): FactoryRecord => ({ format: 1, product, release, slot: "A", lv: factoryLv, originLv: origin.name, bytes: result.bytes, sha256: result.sha256, recordedAt: facts.now });
  return {
    command: "factory-record",
    facts: [
      `slot A   : ${vg}/${origin.name} (${gib(origin.sizeBytes)}), ${product} ${release}, running: copied from a temporary snapshot of it (${gib(cow)} of COW)`,
      `image LV : ${vg}/${factoryLv} (${gib(image.sizeBytes)})${leftover ? `; an interrupted run left ${vg}/${source}: removed first` : ""}`,
    ],
    entries: factoryEntries(facts, origin, image, source, cow, Boolean(leftover), record),
    done: `factory point recorded: ${product} ${release} of slot A in ${vg}/${factoryLv}`,
  };
}

function factoryEntries(facts: SnapshotFacts, origin: LogicalVolume, image: LogicalVolume, source: string, cow: number, leftover: boolean, record: (copy: { sha256: string; bytes: number }) => FactoryRecord): Entry[] {
  const { vg } = facts.layout;
  let copied: { sha256: string; bytes: number } | undefined;
  return [
    ...(leftover ? [command(["lvm", "lvremove", "--yes", `${vg}/${source}`])] : []),
    // a run cut after the LV was made read-only and skipped at activation: writable and active again
    ...(image.attr[1] === "r" ? [command(["lvm", "lvchange", "--permission", "rw", `${vg}/${image.name}`])] : []),
    ...(!image.active ? [command(["lvm", "lvchange", "--activate", "y", "--ignoreactivationskip", `${vg}/${image.name}`])] : []),
    command(["lvm", "lvcreate", "--yes", "--snapshot", "--name", source, "--size", `${cow}b`, `${vg}/${origin.name}`]),
    write(image.path, `slot A's ${origin.sizeBytes} bytes from the temporary snapshot ${vg}/${source} (its device as lvs names it), SHA-256 while written`, async (ctx) => {
      const temp = lvNamed(await listLogicalVolumes(ctx.run, vg), source);
      if (!temp) throw new SnapshotError(`lvs does not list the temporary snapshot ${vg}/${source} just made`, "Nothing is recorded; run `va-agent snapshot factory-record` again.", { refusal: "source-missing" });
      const progress = ctx.log.progress(`factory point: ${vg}/${origin.name} into ${vg}/${image.name}`);
      copied = await copyBlockDevice(temp.path, image.path, { bytes: origin.sizeBytes, progress: (done, total) => progress.update(done, total) });
      progress.finish();
    }, undefined, [lvsArgv(vg)]),
    check(`${vg}/${source} did not overflow during the copy (else the image is not one instant of slot A)`, async (ctx) => {
      const temp = lvNamed(await listLogicalVolumes(ctx.run, vg), source);
      if (temp?.invalid) {
        throw new SnapshotError(`the temporary snapshot ${vg}/${source} overflowed during the copy: the image is not consistent`, `Nothing is recorded; run \`va-agent snapshot factory-record\` again when slot A is quieter (the unit does at the next boot).`, { refusal: "source-overflowed" });
      }
    }, [lvsArgv(vg)]),
    command(["lvm", "lvremove", "--yes", `${vg}/${source}`]),
    // slot A's filesystem UUID must not appear twice to udev, and nothing may write the image
    command(["lvm", "lvchange", "--permission", "r", "--setactivationskip", "y", `${vg}/${image.name}`]),
    command(["lvm", "lvchange", "--activate", "n", `${vg}/${image.name}`]),
    write(factoryRecordPath(facts.bootMount), "the factory record (release, slot, LV, bytes, SHA-256, time), last", () => {
      const path = factoryRecordPath(facts.bootMount);
      mkdirSync(dirname(path), { recursive: true });
      writeFileAtomically(path, `${JSON.stringify(record(copied!), null, 2)}\n`, modeAndOwnerOf(path, 0o644));
    }),
  ];
}

function requiredLv(facts: SnapshotFacts, name: string, what: string): LogicalVolume {
  const lv = lvNamed(facts.lvs, name);
  if (lv) return lv;
  throw new SnapshotError(`${what} ${facts.layout.vg}/${name} is not in volume group ${facts.layout.vg}`, `Check \`lvm lvs ${facts.layout.vg}\` against /etc/va-agent/slot-layout.json; nothing was changed.`, { refusal: "unknown-lv", lv: name });
}

function damagedRecord(path: string, problem: string): SnapshotError {
  return new SnapshotError(`${path} cannot be read: ${problem}`, "The factory image cannot be verified without it: restore the file, or remove it to record the point again (on slot A, while slot B is still empty); nothing was changed.", { refusal: "factory-record-damaged", file: path });
}
