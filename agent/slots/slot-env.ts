/**
 * The boot state of the two system slots, as GRUB's environment block holds it. The variable
 * contract is RAUC's GRUB backend (ORDER, A_OK, A_TRY, B_OK, B_TRY), so RAUC-aware tooling reads
 * the same state; A is the manifest's `slots.a` LV (normally `root`), B its `slots.b` (`back`).
 * Unlike RAUC's one try, X_TRY counts tries up to the manifest's `slots.tries`.
 *
 * This file is the reference semantics: the grub.cfg the agent writes (boot-menu.ts) must decide
 * exactly as bootDecision does, and every Linux-side change goes through the transitions below.
 */
export type SlotName = "A" | "B";
export const SLOT_NAMES: readonly SlotName[] = ["A", "B"];
export const SLOT_VARIABLES = ["ORDER", "A_OK", "A_TRY", "B_OK", "B_TRY"] as const;

export interface SlotEnv {
  /** Slots in the order GRUB tries them; a slot absent from ORDER is never booted. */
  order: SlotName[];
  ok: Record<SlotName, boolean>;
  /** Boots started since the slot was last marked good or activated (GRUB counts before the kernel runs). */
  tries: Record<SlotName, number>;
}

export type BootChoice = { boot: SlotName; tryNumber: number } | { boot: "rescue" };

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
  };
}

/** The variables for a grubenv, keeping whatever else the block holds (next_entry, saved_entry…). */
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

/** What GRUB does at boot: the first slot in ORDER that is good with tries left, its try counted first. */
export function bootDecision(env: SlotEnv, maxTries: number): { choice: BootChoice; after: SlotEnv } {
  for (const slot of env.order) {
    if (hasTriesLeft(env, slot, maxTries)) {
      const after = { ...env, tries: { ...env.tries, [slot]: env.tries[slot] + 1 } };
      return { choice: { boot: slot, tryNumber: env.tries[slot] + 1 }, after };
    }
  }
  return { choice: { boot: "rescue" }, after: env };
}

export function markGood(env: SlotEnv, slot: SlotName): SlotEnv {
  return { ...env, ok: { ...env.ok, [slot]: true }, tries: { ...env.tries, [slot]: 0 } };
}

export function markBad(env: SlotEnv, slot: SlotName): SlotEnv {
  return { ...env, ok: { ...env.ok, [slot]: false }, tries: { ...env.tries, [slot]: 0 } };
}

/** Makes a slot the one GRUB boots next, with its tries reset (RAUC's "activate"). */
export function activate(env: SlotEnv, slot: SlotName): SlotEnv {
  return { order: [slot, otherSlot(slot)], ok: { ...env.ok, [slot]: true }, tries: { ...env.tries, [slot]: 0 } };
}
