import { snapshotNameOf } from "../snapshots/names.ts";
import { RescueError } from "../errors/errors.ts";
import { listLogicalVolumes, type LogicalVolume } from "../lvm/logical-volumes.ts";
import { logicalVolumeDevice } from "../plan/plan.ts";
import type { Runner } from "../runner/runner.ts";
import { fileSlotStore, type SlotState } from "../slots/slot-store.ts";
import { mkfsCommand } from "../steps/make-filesystems.ts";
import { pendingRescueTask } from "./rescue-task.ts";
import type { RescueContext } from "./rescue-context.ts";
import type { FactoryRecord, SnapshotTools } from "./snapshot-tools.ts";

/** A filesystem `--wipe-data` makes anew: the same type, UUID and label, so every fstab still mounts it. */
export interface RemadeFilesystem {
  lv: string;
  device: string;
  type: "ext4" | "xfs" | "swap";
  uuid: string;
  label: string | null;
}

/** Read before the plan is made; every refusal that needs no write happens here. */
export interface FactoryResetFacts {
  vg: string;
  record: FactoryRecord;
  factoryDevice: string;
  /** Slot A's LV and device (written), slot B's LV (marked empty, not written). */
  slotA: { lv: string; device: string };
  slotB: { lv: string };
  wipeData: boolean;
  /** Snapshot LVs of the LVs the reset writes or empties, with every other LV of their sets: removed before the first write. */
  snapshots: string[];
  /** The names of those snapshot sets: their records on the shared boot partition go with them (a record would restore a slot state of before the reset). */
  snapshotSets: string[];
  /** --wipe-data: made anew; else empty. */
  remade: RemadeFilesystem[];
  /** The other LVs of the VG, left as they are (with --wipe-data: those that hold no filesystem). */
  kept: string[];
  state: SlotState;
}

export function blkidArgv(device: string): string[] {
  return ["blkid", "-o", "export", device];
}

/**
 * What a factory reset needs before anything else, also when a running slot only requests it: no
 * merge half done, and a factory point recorded.
 */
export function requireFactoryPoint(bootMount: string, tools: Pick<SnapshotTools, "readFactoryRecord">): FactoryRecord {
  const task = pendingRescueTask(bootMount);
  if (task?.task === "merge") {
    throw new RescueError(
      `the merge of snapshot ${task.snapshot} is pending: a factory reset now would leave it half done`,
      "Nothing was changed. `va-agent rescue start` in the rescue system finishes the merge (and reboots); reset after it.",
      { refusal: "merge-pending", snapshot: task.snapshot },
    );
  }
  const record = tools.readFactoryRecord(bootMount);
  if (!record) {
    throw new RescueError(
      `no factory point: ${bootMount}/va-agent/factory.json is missing (the factory image was never recorded, or its copy did not finish)`,
      "Nothing was changed. Without a factory image the way back is an install: `va-agent rescue install BUNDLE|--label LABEL` (a slot image), or `va-agent slot activate A|B` for a slot that still boots.",
      { refusal: "no-factory-point" },
    );
  }
  return record;
}

export async function readFactoryResetFacts(rctx: RescueContext, tools: Pick<SnapshotTools, "readFactoryRecord">, wipeData: boolean): Promise<FactoryResetFacts> {
  const { bootMount, vg, run } = rctx;
  const record = requireFactoryPoint(bootMount, tools);
  const state = fileSlotStore(bootMount).read();
  const lvs = await listLogicalVolumes(run, vg);
  const slotA = state.metadata.slots.A.lv;
  const slotB = state.metadata.slots.B.lv;
  const factory = requireLv(lvs, vg, record.lv, "the factory image");
  const a = requireLv(lvs, vg, slotA, "slot A");
  requireLv(lvs, vg, slotB, "slot B");
  if (record.originLv !== slotA) refuse(`factory.json was recorded from LV ${vg}/${record.originLv}, but slot A is LV ${vg}/${slotA}`, "the slot layout changed since the factory point was recorded", { originLv: record.originLv, slotA });
  if (factory.sizeBytes < record.bytes) refuse(`the factory LV ${vg}/${record.lv} has ${factory.sizeBytes} bytes, factory.json says the image has ${record.bytes}`, "the factory LV was shrunk: its image is incomplete", { lvBytes: factory.sizeBytes, bytes: record.bytes });
  if (a.sizeBytes < record.bytes) refuse(`slot A's LV ${vg}/${slotA} has ${a.sizeBytes} bytes, the factory image ${record.bytes}`, `grow it first (\`lvm lvextend --size ${record.bytes}b ${vg}/${slotA}\`)`, { lvBytes: a.sizeBytes, bytes: record.bytes });

  const others = lvs.filter((lv) => lv.origin === null && ![slotA, slotB, record.lv].includes(lv.name));
  const remade = wipeData ? await filesystemsOf(run, vg, others) : [];
  const written = [slotA, ...remade.map((fs) => fs.lv)];
  for (const name of written) {
    if (lvs.find((lv) => lv.name === name)!.open) refuse(`LV ${vg}/${name} is open (mounted or in use)`, `a factory reset writes it, and only where nothing of ${vg} is mounted: unmount it (\`umount\`, \`findmnt ${logicalVolumeDevice(vg, name)}\`)`, { lv: name });
  }
  const touched = lvs.filter((lv) => lv.origin !== null && [slotB, ...written].includes(lv.origin));
  const snapshotSets = [...new Set(touched.flatMap((lv) => snapshotNameOf(lv.tags) ?? []))].sort();
  const snapshots = lvs.filter((lv) => touched.includes(lv) || snapshotSets.includes(snapshotNameOf(lv.tags) ?? ""));
  const merging = snapshots.filter((lv) => lv.merging);
  if (merging.length > 0) {
    refuse(
      `snapshot ${merging.map((lv) => `${vg}/${lv.name}`).join(", ")} is being merged into its origin`,
      "LVM finishes a merge by itself once the origin is active and not open: wait until `va-agent rescue status` no longer lists it, then reset",
      { merging: merging.map((lv) => lv.name) },
    );
  }
  return {
    vg,
    record,
    factoryDevice: logicalVolumeDevice(vg, record.lv),
    slotA: { lv: slotA, device: logicalVolumeDevice(vg, slotA) },
    slotB: { lv: slotB },
    wipeData,
    snapshots: snapshots.map((lv) => lv.name),
    snapshotSets,
    remade,
    kept: others.map((lv) => lv.name).filter((name) => !remade.some((fs) => fs.lv === name)),
    state,
  };
}

/** mkfs of the same type with the same UUID and label. */
export function remakeArgv(fs: RemadeFilesystem): string[] {
  const label = fs.label ? ["-L", fs.label] : [];
  if (fs.type === "swap") return ["mkswap", "-U", fs.uuid, ...label, fs.device];
  const base = mkfsCommand({ device: fs.device, type: fs.type, ...(fs.label ? { label: fs.label } : {}), uuidFromFstab: false });
  return [...base.slice(0, -1), ...(fs.type === "xfs" ? ["-m", `uuid=${fs.uuid}`] : ["-U", fs.uuid]), fs.device];
}

/** `blkid -o export` lines (KEY=value, blanks and specials backslash-escaped). */
export function parseBlkidExport(output: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of output.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).replace(/\\(.)/g, "$1"));
  }
  return fields;
}

const BLKID_NOTHING_FOUND = 2;

async function filesystemsOf(run: Runner, vg: string, lvs: LogicalVolume[]): Promise<RemadeFilesystem[]> {
  const found: RemadeFilesystem[] = [];
  for (const lv of lvs) {
    const device = logicalVolumeDevice(vg, lv.name);
    if (!lv.active) refuse(`LV ${vg}/${lv.name} is not active: nothing tells which filesystem to make anew on it`, `activate it (\`lvm lvchange --activate y ${vg}/${lv.name}\`) and run the reset again, or keep the data (--keep-data)`, { lv: lv.name });
    const result = await run.run(blkidArgv(device), { readOnly: true, allowFailure: true });
    if (result.status === BLKID_NOTHING_FOUND) continue;
    const fields = parseBlkidExport(result.stdout);
    const type = fields.get("TYPE");
    const uuid = fields.get("UUID");
    if (result.status !== 0 || !type) refuse(`\`blkid ${device}\` exited ${result.status}: ${result.stderr.trim() || "no TYPE"}`, "check the LV (`lvm lvs`, `blkid`)", { lv: lv.name });
    if (type !== "ext4" && type !== "xfs" && type !== "swap") refuse(`LV ${vg}/${lv.name} holds a ${type} filesystem, which the factory reset cannot make anew`, "keep the data (--keep-data) and wipe that LV by hand, or remove the LV", { lv: lv.name, type });
    if (!uuid) refuse(`LV ${vg}/${lv.name} (${type}) has no UUID`, "keep the data (--keep-data) and wipe that LV by hand", { lv: lv.name, type });
    found.push({ lv: lv.name, device, type, uuid, label: fields.get("LABEL") || null });
  }
  return found;
}

function requireLv(lvs: LogicalVolume[], vg: string, name: string, role: string): LogicalVolume {
  const lv = lvs.find((candidate) => candidate.name === name);
  if (!lv) refuse(`the VG ${vg} has no LV ${name} (${role})`, `\`lvm lvs ${vg}\` lists what it holds`, { lv: name });
  return lv;
}

/** A refusal before anything is written: the slots and the data are as they were. */
function refuse(message: string, cure: string, details: Record<string, unknown>): never {
  throw new RescueError(`factory reset refused: ${message}`, `Nothing was written: the slots and the data are as they were. ${cure[0]!.toUpperCase()}${cure.slice(1)}.`, { refusal: "factory-reset", ...details });
}
