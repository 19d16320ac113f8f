import type { RescueTask } from "../rescue/rescue-task.ts";
import { bootDecision, hasTriesLeft, SLOT_NAMES, type SlotEnv, type SlotName } from "./slot-env.ts";
import type { SlotInstallState, SlotMetadata } from "./slot-metadata.ts";

/** One slot as `va-agent slot status` reports it (and `--json` prints it). */
export interface SlotStatusEntry {
  name: SlotName;
  lv: string;
  state: SlotInstallState;
  product: string | null;
  release: string | null;
  installedAt: string | null;
  /** grubenv X_OK: GRUB may boot it. */
  good: boolean;
  /** grubenv X_TRY: boots GRUB started since it was last marked good or activated (this boot included). */
  triesUsed: number;
  triesLeft: number;
  /** Good with tries left: GRUB would boot it if it came first. */
  bootable: boolean;
  committedAt: string | null;
  badReason: string | null;
  badAt: string | null;
  booted: boolean;
  primary: boolean;
}

export interface SlotStatusReport {
  /** The running slot (`va.slot=` on the kernel command line), "rescue", or null when neither. */
  booted: SlotName | "rescue" | null;
  /** What GRUB boots next (bootDecision): the rescue entry while a rescue task is pending, else the first slot in ORDER that is good with tries left, else the rescue entry. */
  primary: SlotName | "rescue";
  /** The rescue task the next boot finishes: `task` is grubenv's VA_RESCUE, `record` the task file (rescue-task.json) when the caller read it. */
  rescueTask: { task: string; record: RescueTask | null } | null;
  order: SlotName[];
  tries: number;
  slots: SlotStatusEntry[];
  /** States GRUB and the metadata disagree on: GRUB would boot a slot the metadata says is empty or half-installed. */
  warnings: string[];
}

/** `state.rescueTaskRecord`: the pending task's record (pendingRescueTask), which says what the rescue system finishes (grubenv says only which kind). */
export function slotStatus(state: { env: SlotEnv; metadata: SlotMetadata; rescueTaskRecord?: RescueTask | null }, booted: SlotName | "rescue" | null, maxTries = state.metadata.tries): SlotStatusReport {
  const { env, metadata } = state;
  const choice = bootDecision(env, maxTries).choice;
  const primary = choice.boot;
  const slots = SLOT_NAMES.map((name): SlotStatusEntry => {
    const record = metadata.slots[name];
    const triesUsed = env.tries[name];
    return {
      name,
      lv: record.lv,
      state: record.state,
      product: record.product,
      release: record.release,
      installedAt: record.installedAt,
      good: env.ok[name],
      triesUsed,
      triesLeft: Math.max(0, maxTries - triesUsed),
      bootable: hasTriesLeft(env, name, maxTries) && env.order.includes(name),
      committedAt: record.committedAt,
      badReason: record.badReason,
      badAt: record.badAt,
      booted: booted === name,
      primary: primary === name,
    };
  });
  const warnings = slots
    .filter((slot) => slot.bootable && slot.state !== "installed")
    .map((slot) => `slot ${slot.name} is good in grubenv but its metadata says ${slot.state}: GRUB may boot it; \`va-agent slot mark-bad ${slot.name}\` stops that`);
  const rescueTask = env.rescueTask === null ? null : { task: env.rescueTask, record: state.rescueTaskRecord?.task === env.rescueTask ? state.rescueTaskRecord : null };
  return { booted, primary, rescueTask, order: env.order, tries: maxTries, slots, warnings };
}

/** "slot B (va-demo 13.0), try 1 of 3" or "the rescue system (…why)": what boots next. */
export function describeNextBoot(state: { env: SlotEnv; metadata: SlotMetadata }): string {
  const choice = bootDecision(state.env, state.metadata.tries).choice;
  if (choice.boot === "rescue") return describeRescueBoot(choice.rescueTask === null ? null : { task: choice.rescueTask, record: null });
  return `slot ${choice.boot} (${describeContent(state.metadata, choice.boot)}), try ${choice.tryNumber} of ${state.metadata.tries}`;
}

export function describeContent(metadata: SlotMetadata, slot: SlotName): string {
  const record = metadata.slots[slot];
  if (record.state !== "installed") return record.state;
  return [record.product, record.release].filter(Boolean).join(" ") || "release unknown";
}

export function renderSlotStatus(report: SlotStatusReport): string {
  const booted = report.booted === null ? "none (not booted through the slot menu)" : report.booted === "rescue" ? "the rescue system" : `slot ${report.booted}`;
  const next = report.primary === "rescue" ? describeRescueBoot(report.rescueTask) : `slot ${report.primary}`;
  const lines = [`booted    : ${booted}`, `next boot : ${next}`, `order     : ${report.order.join(" ")}, up to ${report.tries} tries per slot`];
  for (const slot of report.slots) {
    const roles = [slot.booted ? "booted" : "", slot.primary ? "boots next" : ""].filter(Boolean).join(", ");
    lines.push("", `slot ${slot.name} (LV ${slot.lv})${roles ? `: ${roles}` : ""}`);
    lines.push(`  content : ${contentLine(slot)}`);
    lines.push(`  boot    : ${bootLine(slot, report.tries)}`);
    lines.push(`  commit  : ${slot.committedAt ?? "never"}`);
  }
  for (const warning of report.warnings) lines.push("", `WARNING: ${warning}`);
  return `${lines.join("\n")}\n`;
}

function describeRescueBoot(pending: SlotStatusReport["rescueTask"]): string {
  if (pending === null) return "the rescue system (no slot is good with tries left)";
  const { record } = pending;
  if (record?.task === "merge") return `the rescue system, to finish the merge of snapshot ${record.snapshot}`;
  if (record?.task === "factory-reset") return `the rescue system, to finish the factory reset (${record.wipeData ? "wiping" : "keeping"} /data)`;
  return `the rescue system, to finish the pending rescue task "${pending.task}"`;
}

function contentLine(slot: SlotStatusEntry): string {
  if (slot.state === "empty") return "empty";
  if (slot.state === "installing") return "being installed (or the install was cut: run it again)";
  const what = [slot.product, slot.release].filter(Boolean).join(" ") || "release unknown";
  return `${what}${slot.installedAt ? `, installed ${slot.installedAt}` : ""}`;
}

function bootLine(slot: SlotStatusEntry, tries: number): string {
  if (!slot.good) {
    const since = slot.badAt ? ` since ${slot.badAt}` : "";
    return `bad${since}${slot.badReason ? `: ${slot.badReason}` : slot.state === "empty" ? "" : " (no reason recorded)"}`;
  }
  const used = `${slot.triesUsed} of ${tries} tries used`;
  if (slot.triesLeft === 0) return `good but no tries left (${used}): GRUB skips it`;
  return `good, ${used}`;
}
