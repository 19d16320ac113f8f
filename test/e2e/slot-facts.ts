// What the new system's probe says about the A/B slots (test/assets/new-os/va-probe), judged.
import type { Check, ProbeFacts } from "./probe-facts.ts";

export interface SlotEntryFacts {
  name: "A" | "B";
  state: string;
  release: string | null;
  good: boolean;
  triesUsed: number;
  committedAt: string | null;
  badReason: string | null;
  primary: boolean;
  booted: boolean;
}
export interface SlotStatusFacts {
  booted: string | null;
  primary: string;
  order: string[];
  slots: SlotEntryFacts[];
}

export function slotStatusOf(facts: ProbeFacts): SlotStatusFacts | undefined {
  const status = facts["slot-status"];
  return status && typeof status === "object" ? (status as SlotStatusFacts) : undefined;
}

export function bootedSlotOf(facts: ProbeFacts): string | undefined {
  return /\bva\.slot=([AB])\b/.exec(String(facts.cmdline ?? ""))?.[1];
}

const describe = (status?: SlotStatusFacts) =>
  status ? `primary ${status.primary}, ${status.slots.map((s) => `${s.name}:${s.state} ${s.release ?? "-"} ${s.good ? "good" : "bad"} tries ${s.triesUsed}${s.committedAt ? " committed" : ""}${s.badReason ? ` (${s.badReason})` : ""}`).join(", ")}` : "no slot status";

/**
 * The boot of `slot` is what `expect` says: GRUB's own line named it, it committed itself, and
 * the slot state is as given (each slot's content, good or not, and which is primary).
 */
export function checkSlotBoot(facts: ProbeFacts, bootConsole: string, expect: { slot: "A" | "B"; release: string; tryNumber?: number; states: Record<"A" | "B", { state: string; good: boolean }>; primary: "A" | "B" }): Check[] {
  const status = slotStatusOf(facts);
  const grubLine = /va-boot: slot ([AB]) try (\d) of (\d)/.exec(bootConsole);
  const entry = (name: "A" | "B") => status?.slots.find((s) => s.name === name);
  const booted = entry(expect.slot);
  return [
    {
      name: `GRUB's slot menu booted slot ${expect.slot}${expect.tryNumber ? ` (try ${expect.tryNumber})` : ""}`,
      ok: grubLine?.[1] === expect.slot && (!expect.tryNumber || grubLine[2] === String(expect.tryNumber)) && bootedSlotOf(facts) === expect.slot,
      seen: `${grubLine?.[0] ?? "no va-boot line"}; cmdline va.slot=${bootedSlotOf(facts) ?? "none"}`,
    },
    { name: `slot ${expect.slot} runs release ${expect.release}`, ok: booted?.release === expect.release, seen: `${booted?.release ?? "none"} (marker ${String(facts["release-marker"] || "none")})` },
    { name: `slot ${expect.slot} committed itself after its health check (tries reset)`, ok: Boolean(booted?.committedAt) && booted?.good === true && booted.triesUsed === 0 && String(facts["slot-commit"]).includes("success"), seen: `commit unit: ${String(facts["slot-commit"])}; ${describe(status)}` },
    {
      name: `slot state: ${(["A", "B"] as const).map((n) => `${n} ${expect.states[n].state} ${expect.states[n].good ? "good" : "not good"}`).join(", ")}, ${expect.primary} primary`,
      ok: (["A", "B"] as const).every((n) => entry(n)?.state === expect.states[n].state && entry(n)?.good === expect.states[n].good) && status?.primary === expect.primary,
      seen: describe(status),
    },
  ];
}

/** After the migration: A holds it, committed by its first boot; B empty; the rescue system on /boot. */
export function checkMigratedSlots(facts: ProbeFacts, newSystemConsole: string, release: string): Check[] {
  const rescue = String(facts["rescue-sha256"] ?? "");
  return [
    ...checkSlotBoot(facts, newSystemConsole, { slot: "A", release, tryNumber: 1, states: { A: { state: "installed", good: true }, B: { state: "empty", good: false } }, primary: "A" }),
    { name: "the rescue system (tiny kernel + initramfs) kept on the shared /boot", ok: /[0-9a-f]{64} +linux +[0-9a-f]{64} +initrd\.img/.test(rescue), seen: rescue.slice(0, 60) || "none" },
  ];
}
