/**
 * The boot state of the two system slots, as GRUB's environment block holds it. The variable
 * contract is RAUC's GRUB backend (ORDER, A_OK, A_TRY, B_OK, B_TRY), so RAUC-aware tooling reads
 * the same state; A is the manifest's `slots.a` LV (normally `root`), B its `slots.b` (`back`).
 * Unlike RAUC's one try, X_TRY counts tries up to the manifest's `slots.tries`. One variable is the
 * agent's own: VA_RESCUE, a pending rescue task (agent/rescue/rescue-task.ts, docs/RESCUE.md).
 *
 * This file is the reference semantics: the grub.cfg the agent writes (boot-menu.ts) must decide
 * exactly as bootDecision does, and every Linux-side change goes through the transitions below.
 */
export type SlotName = "A" | "B";
export const SLOT_NAMES: readonly SlotName[] = ["A", "B"];
export const SLOT_VARIABLES = ["ORDER", "A_OK", "A_TRY", "B_OK", "B_TRY"] as const;
/** Non-empty: a rescue task is pending and GRUB boots the rescue entry. Only rescue-task.ts writes it. */
export const RESCUE_TASK_VARIABLE = "VA_RESCUE";

export interface SlotEnv {
  /** Slots in the order GRUB tries them; a slot absent from ORDER is never booted. */
  order: SlotName[];
  ok: Record<SlotName, boolean>;
  /** Boots started since the slot was last marked good or activated (GRUB counts before the kernel runs). */
  tries: Record<SlotName, number>;
  /**
   * VA_RESCUE as GRUB reads it, null when unset or empty: the rescue task the rescue system must
   * finish first. Read here, never written with the slot state (varsWithSlotEnv keeps the block's
   * own value): the task's two records change together in rescue-task.ts only.
   */
  rescueTask: string | null;
}

/** Rescue's `rescueTask`: the pending task that sends the boot there, or null when no slot is good with tries left. */
export type BootChoice = { boot: SlotName; tryNumber: number } | { boot: "rescue"; rescueTask: string | null };

export function otherSlot(slot: SlotName): SlotName {
  return slot === "A" ? "B" : "A";
}

/** Lenient like GRUB: a missing or garbled variable reads as "not good", "0 tries", ORDER "A B". */
export function slotEnvFromVars(vars: ReadonlyMap<string, string>): SlotEnv {
  // GRUB's blanks only (space, tab, CR, LF), and digits only: the same reading as the grub.cfg's.
  const order = (vars.get("ORDER") ?? "").split(/[ \t\r\n]+/).filter((s): s is SlotName => s === "A" || s === "B");
  const tries = (slot: SlotName) => {
    // As the grub.cfg's regexp reads a count: leading POSIX space, one "+", leading zeros; no digits → 0.
    const digits = /^[ \t\n\v\f\r]*\+?0*([0-9]+)/.exec(vars.get(`${slot}_TRY`) ?? "")?.[1];
    return digits ? Number(digits) : 0;
  };
  return {
    order: order.length > 0 ? [...new Set(order)] : ["A", "B"],
    ok: { A: vars.get("A_OK") === "1", B: vars.get("B_OK") === "1" },
    tries: { A: tries("A"), B: tries("B") },
    rescueTask: vars.get(RESCUE_TASK_VARIABLE) || null,
  };
}

/** The variables for a grubenv, keeping whatever else the block holds (next_entry, saved_entry…, VA_RESCUE as it is in `base`). */
export function varsWithSlotEnv(base: ReadonlyMap<string, string>, env: SlotEnv): Map<string, string> {
  const vars = new Map(base);
  vars.set("ORDER", env.order.join(" "));
  for (const slot of SLOT_NAMES) {
    vars.set(`${slot}_OK`, env.ok[slot] ? "1" : "0");
    vars.set(`${slot}_TRY`, String(env.tries[slot]));
  }
  return vars;
}

/** Good with tries left: what GRUB asks of a slot in ORDER before it boots it. */
export function hasTriesLeft(env: SlotEnv, slot: SlotName, maxTries: number): boolean {
  return env.ok[slot] && env.tries[slot] < maxTries;
}

/**
 * What GRUB does at boot: a pending rescue task boots the rescue entry, whatever ORDER, OK and TRY
 * say, with no try counted; else the first slot in ORDER that is good with tries left, its try counted first.
 */
export function bootDecision(env: SlotEnv, maxTries: number): { choice: BootChoice; after: SlotEnv } {
  if (env.rescueTask !== null) return { choice: { boot: "rescue", rescueTask: env.rescueTask }, after: env };
  for (const slot of env.order) {
    if (hasTriesLeft(env, slot, maxTries)) {
      const after = { ...env, tries: { ...env.tries, [slot]: env.tries[slot] + 1 } };
      return { choice: { boot: slot, tryNumber: env.tries[slot] + 1 }, after };
    }
  }
  return { choice: { boot: "rescue", rescueTask: null }, after: env };
}

export function markGood(env: SlotEnv, slot: SlotName): SlotEnv {
  return { ...env, ok: { ...env.ok, [slot]: true }, tries: { ...env.tries, [slot]: 0 } };
}

export function markBad(env: SlotEnv, slot: SlotName): SlotEnv {
  return { ...env, ok: { ...env.ok, [slot]: false }, tries: { ...env.tries, [slot]: 0 } };
}

/** Makes a slot the one GRUB boots next, with its tries reset (RAUC's "activate"). */
export function activate(env: SlotEnv, slot: SlotName): SlotEnv {
  return { ...env, order: [slot, otherSlot(slot)], ok: { ...env.ok, [slot]: true }, tries: { ...env.tries, [slot]: 0 } };
}
