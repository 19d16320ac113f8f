import { SlotError } from "../errors/errors.ts";
import { activate, bootDecision, hasTriesLeft, markBad, markGood, otherSlot, type SlotEnv, type SlotName } from "./slot-env.ts";
import { withSlotRecord, type SlotMetadata } from "./slot-metadata.ts";
import { describeContent, describeNextBoot } from "./slot-status.ts";
import type { SlotState, SlotStore, SlotWrite } from "./slot-store.ts";

/**
 * Every Linux-side change of the slot state: a pure transition (state in, writes out), then the
 * writes applied in order, one rename each (slot-store.ts).
 *
 * Why the order of the writes is safe. The state is two files: grubenv (what GRUB acts on) and
 * slots.json (what the agent acts on: activate and rollback refuse empty or half-installed slots,
 * and what status explains). A power cut can fall between the two writes of one action, never inside
 * one. So each action writes them in the order that leaves a safe state in between:
 * - a change that makes a slot LESS bootable (mark-bad, beginInstall) writes grubenv FIRST: when a
 *   cut leaves slots.json saying "installing" or giving a bad reason, GRUB already skips that slot.
 *   A cut after the grubenv write only loses the metadata half: a bad slot whose reason is missing,
 *   or a slot marked bad whose content is still intact (beginInstall writes nothing into the slot
 *   before both writes are done).
 * - a change that makes a slot MORE bootable (finishInstall, activate, rollback, mark-good) writes
 *   slots.json FIRST: grubenv never points GRUB at a slot whose metadata is not "installed" yet. A cut
 *   before the grubenv write leaves GRUB deciding as before, which booted; the same command run again
 *   completes it (the commit unit runs mark-good on every boot). mark-good has one more reason: its
 *   grubenv write turns a slot that ran out of tries into a bad one behind the booted slot; were it
 *   written first, a cut would lose the reason for good (the next mark-good no longer sees a slot
 *   that ran out of tries ahead of it).
 * test/unit/slot-power-cut.test.ts cuts after every write of every action and checks the result.
 */
export interface SlotChange {
  action: string;
  slot: SlotName | null;
  /** In the order they must reach the disk. */
  writes: SlotWrite[];
  after: SlotState;
  /** What was done and what boots next, for the console. */
  message: string;
}

export interface SlotActionContext {
  /** The slot Linux runs from, null in the rescue system (or a kernel not booted through the slot menu). */
  booted: SlotName | null;
  /** ISO time stamp for the metadata. */
  now: string;
}

export function applySlotChange(store: SlotStore, change: SlotChange): void {
  for (const write of change.writes) store.write(write);
}

/**
 * `mark-good [SLOT]` (the booted slot by default; the commit unit runs it on every boot): the slot
 * is good with its tries reset, committed now. When a slot ahead of the booted one in ORDER would not
 * have been chosen by GRUB (bad, or ran out of tries: it failed to boot N times, so GRUB fell back
 * to this one), the booted slot goes first in ORDER; one that ran out of tries is marked bad with the
 * reason.
 */
export function markGoodChange(state: SlotState, ctx: SlotActionContext, slot: SlotName | null = null): SlotChange {
  const target = slot ?? requireBooted(ctx, "mark-good");
  const running = target === ctx.booted;
  // The running slot has a system in it whatever its metadata says (a lost or foreign slots.json):
  // refusing would leave it uncommitted until GRUB runs out of tries. Another slot must be installed.
  if (!running) refuseUnlessInstalled(state.metadata, target, "mark-good");
  let env = markGood(state.env, target);
  let metadata = withSlotRecord(state.metadata, target, { state: "installed", committedAt: ctx.now, badReason: null, badAt: null });
  const notes: string[] = [];
  if (running) {
    const ahead = state.env.order.slice(0, Math.max(0, state.env.order.indexOf(target)));
    const skipped = ahead.filter((other) => !hasTriesLeft(state.env, other, state.metadata.tries));
    for (const other of skipped.filter((s) => state.env.ok[s])) {
      const reason = `did not come up in ${state.env.tries[other]} tries`;
      env = markBad(env, other);
      metadata = withSlotRecord(metadata, other, { badReason: reason, badAt: ctx.now });
      notes.push(`slot ${other} ${reason}: marked bad`);
    }
    if (skipped.length > 0) env = { ...env, order: [target, ...env.order.filter((s) => s !== target)] };
  }
  const after = { env, metadata };
  return {
    action: "mark-good",
    slot: target,
    writes: [{ file: "metadata", metadata }, { file: "grubenv", env }],
    after,
    message: [`slot ${target} (${describeContent(metadata, target)}) marked good`, ...notes, `next boot: ${describeNextBoot(after)}`].join("; "),
  };
}

/** `mark-bad [SLOT] [--reason TEXT]` (the booted slot by default; the health check's failure unit runs it). */
export function markBadChange(state: SlotState, ctx: SlotActionContext, slot: SlotName | null = null, reason: string | null = null): SlotChange {
  const target = slot ?? requireBooted(ctx, "mark-bad");
  const env = markBad(state.env, target);
  const why = reason ?? "marked bad by hand";
  const metadata = withSlotRecord(state.metadata, target, { badReason: why, badAt: ctx.now });
  const after = { env, metadata };
  return {
    action: "mark-bad",
    slot: target,
    writes: [{ file: "grubenv", env }, { file: "metadata", metadata }],
    after,
    message: `slot ${target} marked bad (${why}); next boot: ${describeNextBoot(after)}`,
  };
}

/**
 * `fall-back` (the health check's failure unit): the booted slot failed its check. When the other
 * slot can boot (installed, good, tries left) the booted one is marked bad and the caller reboots
 * into the other. When it cannot, nothing changes: a health check never strands the box in the
 * rescue system by itself; this boot's try stays counted (the commit did not reset it), so a slot
 * that keeps failing still ends in rescue after its last try. null: stay.
 */
export function fallBackChange(state: SlotState, ctx: SlotActionContext, reason: string): SlotChange | null {
  const booted = requireBooted(ctx, "fall-back");
  const other = otherSlot(booted);
  const canBoot = state.metadata.slots[other].state === "installed" && hasTriesLeft(state.env, other, state.metadata.tries);
  return canBoot ? markBadChange(state, ctx, booted, reason) : null;
}

/** `activate SLOT`: the slot boots next with its tries reset; an empty or half-installed slot is refused. */
export function activateChange(state: SlotState, slot: SlotName): SlotChange {
  refuseUnlessInstalled(state.metadata, slot, "activate");
  return activation(state, slot, "activate");
}

/**
 * `rollback`: the slot that is not running boots next (a late rollback, days after an update).
 * Refused when that slot is empty, half-installed or bad: rolling back onto it would end in the rescue
 * system, or boot a system known not to work.
 */
export function rollbackChange(state: SlotState, ctx: SlotActionContext): SlotChange {
  const booted = requireBooted(ctx, "rollback");
  const target = otherSlot(booted);
  refuseUnlessInstalled(state.metadata, target, "rollback");
  const record = state.metadata.slots[target];
  if (!hasTriesLeft(state.env, target, state.metadata.tries)) {
    const why = !state.env.ok[target] ? (record.badReason ?? "no reason recorded") : `did not come up in ${state.env.tries[target]} tries`;
    throw new SlotError(
      `cannot roll back to slot ${target} (${describeContent(state.metadata, target)}): it is marked bad (${why})`,
      `Slot ${booted} keeps running. To boot slot ${target} anyway (you know why it failed and that it is fixed): \`va-agent slot activate ${target}\`; a bad try falls back to slot ${booted} by itself.`,
      { refusal: "slot-bad", slot: target, badReason: record.badReason },
    );
  }
  const change = activation(state, target, "rollback");
  return { ...change, message: `${change.message}; slot ${booted} stays good (\`va-agent slot activate ${booted}\` makes it primary again)` };
}

/**
 * The first half of `install` into `slot`, BEFORE anything is written to it: GRUB stops booting it
 * (bad), and the metadata says it is being installed (activate and rollback refuse it from now on).
 */
export function beginInstall(state: SlotState, ctx: SlotActionContext, slot: SlotName): SlotChange {
  if (slot === ctx.booted) {
    throw new SlotError(`cannot install into slot ${slot}: it is the running system`, `Install into the other slot (${otherSlot(slot)}); the running slot is never written.`, { refusal: "slot-running", slot });
  }
  const env = markBad(state.env, slot);
  const metadata = withSlotRecord(state.metadata, slot, { state: "installing", product: null, release: null, installedAt: null, committedAt: null, badReason: "being installed", badAt: ctx.now });
  const after = { env, metadata };
  return {
    action: "begin-install",
    slot,
    writes: [{ file: "grubenv", env }, { file: "metadata", metadata }],
    after,
    message: `slot ${slot} marked bad and being installed; next boot: ${describeNextBoot(after)}`,
  };
}

/**
 * The last step of `install`, after the slot's filesystem is complete and synced (unmounted): the
 * metadata says what it holds, then the slot boots next with its tries reset (its first boot is a
 * try like any other; the commit unit keeps it).
 */
export function finishInstall(state: SlotState, ctx: SlotActionContext, slot: SlotName, image: { product: string; release: string }): SlotChange {
  if (state.metadata.slots[slot].state !== "installing") {
    throw new SlotError(`cannot finish installing slot ${slot}: its metadata says ${state.metadata.slots[slot].state}, not installing`, "Start the install again (`va-agent install BUNDLE`): it marks the slot bad and installing before writing to it.", { refusal: "not-installing", slot });
  }
  const metadata = withSlotRecord(state.metadata, slot, { state: "installed", product: image.product, release: image.release, installedAt: ctx.now, committedAt: null, badReason: null, badAt: null });
  const env = activate(state.env, slot);
  const after = { env, metadata };
  return {
    action: "finish-install",
    slot,
    writes: [{ file: "metadata", metadata }, { file: "grubenv", env }],
    after,
    message: `slot ${slot} holds ${image.product} ${image.release}; next boot: ${describeNextBoot(after)}`,
  };
}

/** The state after the boot GRUB would do now: the try it counts (save_env) before the kernel starts. */
export function bootedByGrub(state: SlotState): { booted: SlotName | null; after: SlotState } {
  const { choice, after } = bootDecision(state.env, state.metadata.tries);
  return { booted: choice.boot === "rescue" ? null : choice.boot, after: { env: after, metadata: state.metadata } };
}

function activation(state: SlotState, slot: SlotName, action: string): SlotChange {
  const env: SlotEnv = activate(state.env, slot);
  const metadata = withSlotRecord(state.metadata, slot, { badReason: null, badAt: null });
  const after = { env, metadata };
  return {
    action,
    slot,
    writes: [{ file: "metadata", metadata }, { file: "grubenv", env }],
    after,
    message: `slot ${slot} (${describeContent(metadata, slot)}) activated; next boot: ${describeNextBoot(after)}`,
  };
}

function refuseUnlessInstalled(metadata: SlotMetadata, slot: SlotName, action: string): void {
  const state = metadata.slots[slot].state;
  if (state === "installed") return;
  if (state === "empty") {
    throw new SlotError(`cannot ${action} slot ${slot}: it is empty (no system was ever installed in it)`, "Install a release into it first: `va-agent install BUNDLE` writes the slot that is not running.", { refusal: "slot-empty", slot });
  }
  throw new SlotError(
    `cannot ${action} slot ${slot}: it is still being installed, or its install was cut before it finished`,
    "Wait for `va-agent install` to finish, or run it again if it was interrupted: a half-written slot is never booted.",
    { refusal: "slot-installing", slot },
  );
}

function requireBooted(ctx: SlotActionContext, action: string): SlotName {
  if (ctx.booted) return ctx.booted;
  throw new SlotError(
    `${action} needs the running slot, and this system was not booted through the slot menu (no va.slot= on the kernel command line)`,
    action === "rollback" ? "Choose the slot to boot next yourself: `va-agent slot activate A` or `va-agent slot activate B`." : `Name the slot: \`va-agent slot ${action} A\` or \`va-agent slot ${action} B\`.`,
    { refusal: "not-booted-from-slot" },
  );
}
