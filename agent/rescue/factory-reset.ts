import { RescueError, StepFailedError } from "../errors/errors.ts";
import { formatArgv } from "../runner/argv-text.ts";
import { applySlotChange, beginInstall, finishInstall, type SlotChange } from "../slots/slot-actions.ts";
import { markBad, type SlotName } from "../slots/slot-env.ts";
import { emptySlotRecord, withSlotRecord } from "../slots/slot-metadata.ts";
import { grubenvPath, slotsMetadataPath } from "../slots/slot-paths.ts";
import { describeNextBoot } from "../slots/slot-status.ts";
import { fileSlotStore, type SlotState } from "../slots/slot-store.ts";
import { check, command, write, type Entry } from "../steps/entry.ts";
import { remakeArgv, type FactoryResetFacts } from "./factory-reset-facts.ts";
import { REBOOT_COMMANDS, rescueStepContext, type RescueContext } from "./rescue-context.ts";
import { runRescuePhases, rescuePhaseLines, type PhaseRecord, type RescuePhase } from "./rescue-phases.ts";
import { clearRescueTask, requestRescueTask, rescueTaskPath } from "./rescue-task.ts";
import type { SnapshotTools } from "./snapshot-tools.ts";
import { removeSnapshotRecord, snapshotRecordPath } from "../snapshots/records.ts";

/** How the reset reads and copies the factory image: snapshot's block copy, and a hash by reading. */
export interface FactoryResetTools extends Pick<SnapshotTools, "copyBlockDevice"> {
  hashDevice(device: string, bytes: number, progress?: (done: number, total: number) => void): Promise<{ sha256: string; bytes: number }>;
}

export interface FactoryResetContext {
  rctx: RescueContext;
  facts: FactoryResetFacts;
  tools: FactoryResetTools;
}

/**
 * `va-agent rescue factory-reset`, in order (docs/RESCUE.md "Factory point"). The image is verified
 * before anything is written; the task is recorded next, so a power cut from there on boots the
 * rescue system again, which runs the whole reset again (every phase gives the same end state run
 * twice). Slot A is marked bad before its LV is written and made good only after the copy is
 * verified, as an install does with the slot it writes.
 */
export const FACTORY_RESET_PHASES: readonly RescuePhase<FactoryResetContext>[] = [
  { name: "verify-factory-image", summary: "the factory LV activated (it is skipped at activation) and its image hashed against factory.json; nothing is written", entries: verifyEntries },
  { name: "request-task", summary: "the reset recorded as the pending rescue task: a power cut from here on resumes it", entries: requestEntries },
  { name: "remove-snapshots", summary: "the snapshot sets holding an LV the reset writes or empties, removed with their records", entries: removeSnapshotEntries },
  { name: "mark-slots", summary: "slot B marked empty, slot A marked bad while it is written", entries: markEntries },
  { name: "copy-factory-image", summary: "the factory image copied into slot A's LV, its SHA-256 checked while it is written", entries: copyEntries },
  { name: "wipe-data", summary: "with --wipe-data only: the other filesystems of the VG made anew with their type, UUID and label", entries: (f) => f.facts.remade.map((fs) => command(remakeArgv(fs))) },
  { name: "finish-reset", summary: "slot A holds the factory release: good, first, its tries reset", entries: finishEntries },
  { name: "clear-task", summary: "the rescue task cleared: the slots boot again", entries: (f) => [write(taskFiles(f), "VA_RESCUE removed from grubenv, then the task file", () => clearRescueTask(f.rctx.bootMount))] },
];

function removeSnapshotEntries(f: FactoryResetContext): Entry[] {
  const { vg, snapshots, snapshotSets } = f.facts;
  return [
    ...snapshots.map((name) => command(["lvm", "lvremove", "--yes", `${vg}/${name}`])),
    ...snapshotSets.map((name) => write(snapshotRecordPath(f.rctx.bootMount, name), `removed: snapshot ${name} is gone`, () => removeSnapshotRecord(f.rctx.bootMount, name))),
  ];
}

/** The first phase that writes to an LV or the slot state; the task is recorded one phase before. */
const FIRST_SLOT_WRITE = "mark-slots";

export function factoryResetPlanLines(f: FactoryResetContext): string[] {
  const { facts } = f;
  const { record, vg } = facts;
  const data = facts.wipeData
    ? `made anew (--wipe-data): ${facts.remade.map((fs) => `LV ${vg}/${fs.lv} (${fs.type}, UUID ${fs.uuid}${fs.label ? `, label ${fs.label}` : ""})`).join(", ") || "none holds a filesystem"}${facts.kept.length > 0 ? `; kept (no filesystem): ${facts.kept.join(", ")}` : ""}`
    : `kept: ${facts.kept.map((lv) => `LV ${vg}/${lv}`).join(", ") || "no other LV"} (--wipe-data makes their filesystems anew)`;
  return [
    `va-agent rescue factory-reset: slot A back to ${record.product} ${record.release}, the factory point of ${record.recordedAt}`,
    `  factory image: LV ${vg}/${record.lv} (${facts.factoryDevice}), ${record.bytes} bytes, SHA-256 ${record.sha256}`,
    `  slot A       : LV ${vg}/${facts.slotA.lv} (${facts.slotA.device}): overwritten with the image, then good and first`,
    `  slot B       : LV ${vg}/${facts.slotB.lv}: marked empty (its release leaves the menu; its blocks are not written)`,
    `  snapshots    : ${facts.snapshots.length > 0 ? `removed: ${facts.snapshots.join(", ")}` : "none to remove"}`,
    `  data         : ${data}`,
    "",
    ...rescuePhaseLines(FACTORY_RESET_PHASES, f),
    "",
    `then, after the result is printed: ${REBOOT_COMMANDS.map((argv) => `+ ${formatArgv(argv)}`).join("; ")} (slot A boots)`,
    `on a failure from ${FIRST_SLOT_WRITE} on: the task stays recorded, every boot comes back to the rescue system, whose \`rescue start\` runs the reset again`,
  ];
}

export async function runFactoryReset(f: FactoryResetContext): Promise<PhaseRecord[]> {
  const names = FACTORY_RESET_PHASES.map((phase) => phase.name);
  return runRescuePhases(FACTORY_RESET_PHASES, f, rescueStepContext(f.rctx), (phase, error) => new StepFailedError(`factory-reset ${phase}`, error, whereTheDiskStands(f, names.indexOf(phase))));
}

function whereTheDiskStands(f: FactoryResetContext, failed: number): string {
  const at = (name: string) => FACTORY_RESET_PHASES.findIndex((phase) => phase.name === name);
  const { vg, slotA } = f.facts;
  const giveUp = "to give it up instead: `va-agent rescue clear-task`, then `va-agent slot activate A|B` for a slot that boots";
  if (failed < at("request-task")) return "Nothing was written: the slots and the data are as they were.";
  if (failed < at(FIRST_SLOT_WRITE)) return `The slots and the data are as they were (snapshots of the slot LVs may be gone). The reset is the pending rescue task: every boot comes back to the rescue system, which runs it again; ${giveUp}.`;
  if (failed < at("finish-reset")) return `Slot A (LV ${vg}/${slotA.lv}) is marked bad and may be half written; slot B is marked empty. The reset is the pending rescue task: \`va-agent rescue factory-reset\` now, or any reboot, runs it again.`;
  return `Slot A holds the factory image and is good and first. Run \`va-agent rescue factory-reset\` again, or reboot: the rescue system finishes the task.`;
}

function verifyEntries(f: FactoryResetContext): Entry[] {
  const { record, vg, factoryDevice } = f.facts;
  return [
    command(["lvm", "lvchange", "--activate", "y", "--ignoreactivationskip", `${vg}/${record.lv}`]),
    check(`the first ${record.bytes} bytes of ${factoryDevice} have the SHA-256 of factory.json (${record.sha256})`, async (ctx) => {
      const progress = ctx.log.progress(`hashing the factory image ${vg}/${record.lv}`);
      const read = await f.tools.hashDevice(factoryDevice, record.bytes, (done, total) => progress.update(done, total));
      progress.finish();
      if (read.bytes !== record.bytes || read.sha256 !== record.sha256) {
        throw new RescueError(
          `the factory image on LV ${vg}/${record.lv} does not match factory.json: ${read.bytes} bytes with SHA-256 ${read.sha256}, recorded ${record.bytes} bytes with ${record.sha256}`,
          "The factory image is damaged: a reset from it would not give the factory state. Install a release instead (`va-agent rescue install BUNDLE|--label LABEL`).",
          { refusal: "factory-image-damaged", lv: record.lv, sha256: read.sha256, expected: record.sha256 },
        );
      }
    }),
  ];
}

function requestEntries(f: FactoryResetContext): Entry[] {
  return [requestResetEntry(f.rctx, f.facts.wipeData)];
}

/** The reset recorded as the pending task: the rescue system runs it from the next boot on. */
export function requestResetEntry(rctx: RescueContext, wipeData: boolean): Entry {
  return write(`${rescueTaskPath(rctx.bootMount)}, ${grubenvPath(rctx.bootMount)}`, `the task factory-reset (wipeData ${wipeData}), then VA_RESCUE=factory-reset in grubenv`, () =>
    requestRescueTask(rctx.bootMount, { task: "factory-reset", wipeData, requestedAt: rctx.now() }),
  );
}

/**
 * From a running slot the reset is requested, not run: its LV is mounted. The rescue system the
 * reboot brings up verifies the image before it writes anything.
 */
export const REQUEST_RESET_PHASES: readonly RescuePhase<{ rctx: RescueContext; wipeData: boolean }>[] = [
  { name: "request-task", summary: "the reset recorded as the pending rescue task: GRUB boots the rescue system, which runs it", entries: ({ rctx, wipeData }) => [requestResetEntry(rctx, wipeData)] },
];

export const RUNNING_SLOT_REBOOT = ["systemctl", "reboot"];

export function requestResetPlanLines(rctx: RescueContext, record: FactoryResetFacts["record"], wipeData: boolean, booted: string): string[] {
  return [
    `va-agent rescue factory-reset from the running slot ${booted}: requested here, run by the rescue system at the next boot`,
    `  factory point: ${record.product} ${record.release} of ${record.recordedAt}, LV ${rctx.vg}/${record.lv}, ${record.bytes} bytes`,
    `  data         : ${wipeData ? "wiped (--wipe-data): the other filesystems of the VG made anew" : "kept"}`,
    "",
    ...rescuePhaseLines(REQUEST_RESET_PHASES, { rctx, wipeData }),
    "",
    `then, after the result is printed: + ${formatArgv(RUNNING_SLOT_REBOOT)}; the rescue system verifies the image before it writes anything (\`va-agent rescue factory-reset --dry-run\` there shows every command)`,
  ];
}

function markEntries(f: FactoryResetContext): Entry[] {
  const store = fileSlotStore(f.rctx.bootMount);
  const ctx = () => ({ booted: null, now: f.rctx.now() });
  return [
    write(slotStateFiles(f), `slot B (LV ${f.facts.slotB.lv}) marked empty: B_OK=0 first, then slots.json`, () => applySlotChange(store, emptySlotChange(store.read(), "B"))),
    write(slotStateFiles(f), `slot A (LV ${f.facts.slotA.lv}) marked bad and being written (beginInstall)`, () => applySlotChange(store, beginInstall(store.read(), ctx(), "A"))),
  ];
}

function copyEntries(f: FactoryResetContext): Entry[] {
  const { record, vg, factoryDevice, slotA } = f.facts;
  return [
    command(["lvm", "lvchange", "--activate", "y", `${vg}/${slotA.lv}`]),
    write(slotA.device, `the factory image, ${record.bytes} bytes from ${factoryDevice}, SHA-256 checked against factory.json`, async (ctx) => {
      const progress = ctx.log.progress(`copying the factory image into slot A (${vg}/${slotA.lv})`);
      const copied = await f.tools.copyBlockDevice(factoryDevice, slotA.device, { bytes: record.bytes, progress: (done, total) => progress.update(done, total) });
      progress.finish();
      if (copied.bytes !== record.bytes || copied.sha256 !== record.sha256) {
        throw new RescueError(
          `the copy into slot A read ${copied.bytes} bytes with SHA-256 ${copied.sha256} from ${factoryDevice}, factory.json says ${record.bytes} bytes with ${record.sha256}`,
          "The factory image changed or could not be read whole while it was copied (a failing disk?). Check the disk (`dmesg`); the reset runs again from the start on the next boot.",
          { refusal: "factory-copy-mismatch", sha256: copied.sha256, expected: record.sha256 },
        );
      }
    }),
    command(["lvm", "lvchange", "--activate", "n", `${vg}/${record.lv}`]),
  ];
}

function finishEntries(f: FactoryResetContext): Entry[] {
  const store = fileSlotStore(f.rctx.bootMount);
  const { product, release } = f.facts.record;
  return [
    write(slotStateFiles(f), `slot A holds ${product} ${release} (finishInstall): slots.json first, then grubenv: A good, first, tries 0`, () =>
      applySlotChange(store, finishInstall(store.read(), { booted: null, now: f.rctx.now() }, "A", { product, release })),
    ),
  ];
}

/** A slot whose release is gone: GRUB stops booting it first (grubenv), then the metadata says it is empty. */
export function emptySlotChange(state: SlotState, slot: SlotName): SlotChange {
  const env = markBad(state.env, slot);
  const metadata = withSlotRecord(state.metadata, slot, emptySlotRecord(state.metadata.slots[slot].lv));
  const after = { env, metadata };
  return { action: "empty", slot, writes: [{ file: "grubenv", env }, { file: "metadata", metadata }], after, message: `slot ${slot} marked empty; next boot: ${describeNextBoot(after)}` };
}

function slotStateFiles(f: FactoryResetContext): string {
  return `${grubenvPath(f.rctx.bootMount)}, ${slotsMetadataPath(f.rctx.bootMount)}`;
}

function taskFiles(f: FactoryResetContext): string {
  return `${rescueTaskPath(f.rctx.bootMount)}, ${grubenvPath(f.rctx.bootMount)}`;
}
