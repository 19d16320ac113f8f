import { describe, expect, test } from "bun:test";
import { SlotError } from "../../agent/errors/errors.ts";
import { activateChange, beginInstall, bootedByGrub, finishInstall, markBadChange, markGoodChange, rollbackChange } from "../../agent/slots/slot-actions.ts";
import { bootDecision, RESCUE_TASK_VARIABLE, slotEnvFromVars, varsWithSlotEnv } from "../../agent/slots/slot-env.ts";
import type { SlotState } from "../../agent/slots/slot-store.ts";
import { env, installed, metadata, migratedBox, NOW, twoReleaseBox } from "./slot-fixture.ts";

const onA = { booted: "A" as const, now: NOW };
const onB = { booted: "B" as const, now: NOW };

function refusal(action: () => unknown): { refusal: unknown; message: string; hint: string } {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(SlotError);
    const e = error as SlotError;
    return { refusal: e.details.refusal, message: e.message, hint: e.hint };
  }
  throw new Error("expected a SlotError");
}

describe("mark-good", () => {
  test("the booted slot: good, tries reset, committed now; metadata written before grubenv", () => {
    const box: SlotState = { ...migratedBox(), env: env("A B", { A: [true, 1], B: [false, 0] }) };
    const change = markGoodChange(box, onA);
    expect(change.after.env).toEqual(env("A B", { A: [true, 0], B: [false, 0] }));
    expect(change.after.metadata.slots.A.committedAt).toBe(NOW);
    expect(change.writes.map((w) => w.file)).toEqual(["metadata", "grubenv"]);
    expect(change.message).toBe("slot A (va-demo 13.0) marked good; next boot: slot A (va-demo 13.0), try 1 of 3");
  });

  test("a slot ahead that ran out of tries (a panicking release) is marked bad with the reason, the booted slot goes first", () => {
    // B was activated, panicked 3 times; GRUB fell back to A (its try 1)
    const box: SlotState = { env: env("B A", { A: [true, 1], B: [true, 3] }), metadata: twoReleaseBox().metadata };
    const change = markGoodChange(box, onA);
    expect(change.after.env).toEqual(env("A B", { A: [true, 0], B: [false, 0] }));
    expect(change.after.metadata.slots.B.badReason).toBe("did not come up in 3 tries");
    expect(change.after.metadata.slots.B.badAt).toBe(NOW);
    expect(change.message).toContain("slot B did not come up in 3 tries: marked bad");
  });

  test("a slot ahead marked bad (its health check failed) keeps its reason; the booted slot goes first", () => {
    const box: SlotState = { env: env("B A", { A: [true, 1], B: [false, 0] }), metadata: metadata({ A: installed("va-demo", "13.0"), B: installed("va-demo", "14.0", { badReason: "health check failed", badAt: NOW }) }) };
    const change = markGoodChange(box, onA);
    expect(change.after.env.order).toEqual(["A", "B"]);
    expect(change.after.metadata.slots.B.badReason).toBe("health check failed");
  });

  test("a pending activation ahead (installed, tries left) is left alone: mark-good by hand never cancels an install", () => {
    const box: SlotState = { env: env("B A", { A: [true, 0], B: [true, 0] }), metadata: twoReleaseBox().metadata };
    const change = markGoodChange(box, onA);
    expect(change.after.env).toEqual(box.env);
    expect(bootDecision(change.after.env, 3).choice).toEqual({ boot: "B", tryNumber: 1 });
  });

  test("the running slot is committed even when its metadata was lost; another slot must be installed", () => {
    const lost: SlotState = { env: env("A B", { A: [true, 1], B: [false, 0] }), metadata: metadata({}) };
    expect(markGoodChange(lost, onA).after.metadata.slots.A.state).toBe("installed");
    expect(refusal(() => markGoodChange(migratedBox(), onA, "B")).refusal).toBe("slot-empty");
  });

  test("without a slot named, it needs the booted one", () => {
    expect(refusal(() => markGoodChange(migratedBox(), { booted: null, now: NOW })).refusal).toBe("not-booted-from-slot");
  });
});

describe("mark-bad", () => {
  test("grubenv first (GRUB stops booting it), then the reason; says what boots next", () => {
    const change = markBadChange(twoReleaseBox(), onA, null, "health check failed");
    expect(change.writes.map((w) => w.file)).toEqual(["grubenv", "metadata"]);
    expect(change.after.env.ok.A).toBe(false);
    expect(change.after.metadata.slots.A).toMatchObject({ badReason: "health check failed", badAt: NOW });
    expect(change.message).toBe("slot A marked bad (health check failed); next boot: slot B (va-demo 13.0), try 1 of 3");
  });

  test("the only good slot marked bad: the rescue system boots next, and it says so", () => {
    expect(markBadChange(migratedBox(), onA).message).toBe("slot A marked bad (marked bad by hand); next boot: the rescue system (no slot is good with tries left)");
  });
});

describe("activate", () => {
  test("an installed slot boots next with its tries reset, even one marked bad (the operator's call); its bad reason is cleared", () => {
    const box: SlotState = { env: env("A B", { A: [true, 0], B: [false, 0] }), metadata: metadata({ A: installed("va-demo", "14.0"), B: installed("va-demo", "13.0", { badReason: "health check failed", badAt: NOW }) }) };
    const change = activateChange(box, "B");
    expect(change.after.env).toEqual(env("B A", { A: [true, 0], B: [true, 0] }));
    expect(change.after.metadata.slots.B.badReason).toBeNull();
    expect(change.writes.map((w) => w.file)).toEqual(["metadata", "grubenv"]);
  });

  test("refused for an empty slot and for one being installed, with what to do", () => {
    const empty = refusal(() => activateChange(migratedBox(), "B"));
    expect(empty).toMatchObject({ refusal: "slot-empty", message: "cannot activate slot B: it is empty (no system was ever installed in it)" });
    expect(empty.hint).toContain("va-agent install BUNDLE");
    const installing = { ...migratedBox(), metadata: metadata({ A: installed("va-demo", "13.0"), B: { state: "installing" } }) };
    expect(refusal(() => activateChange(installing, "B")).refusal).toBe("slot-installing");
  });
});

describe("rollback", () => {
  test("the slot not running boots next; says what boots next and how to come back", () => {
    const change = rollbackChange(twoReleaseBox(), onA);
    expect(change.after.env.order).toEqual(["B", "A"]);
    expect(bootDecision(change.after.env, 3).choice).toEqual({ boot: "B", tryNumber: 1 });
    expect(change.message).toBe("slot B (va-demo 13.0) activated; next boot: slot B (va-demo 13.0), try 1 of 3; slot A stays good (`va-agent slot activate A` makes it primary again)");
  });

  test("refused when the other slot is empty, installing, bad (with its reason) or out of tries", () => {
    expect(refusal(() => rollbackChange(migratedBox(), onA)).refusal).toBe("slot-empty");
    const installing = { ...twoReleaseBox(), metadata: metadata({ A: installed("va-demo", "14.0"), B: { state: "installing" } }) };
    expect(refusal(() => rollbackChange(installing, onA)).refusal).toBe("slot-installing");
    const bad: SlotState = { env: env("A B", { A: [true, 0], B: [false, 0] }), metadata: metadata({ A: installed("va-demo", "14.0"), B: installed("va-demo", "13.0", { badReason: "did not come up in 3 tries" }) }) };
    const refused = refusal(() => rollbackChange(bad, onA));
    expect(refused).toMatchObject({ refusal: "slot-bad", message: "cannot roll back to slot B (va-demo 13.0): it is marked bad (did not come up in 3 tries)" });
    expect(refused.hint).toContain("va-agent slot activate B");
    const spent: SlotState = { ...twoReleaseBox(), env: env("A B", { A: [true, 0], B: [true, 3] }) };
    expect(refusal(() => rollbackChange(spent, onA)).message).toContain("did not come up in 3 tries");
  });

  test("needs the booted slot", () => {
    expect(refusal(() => rollbackChange(twoReleaseBox(), { booted: null, now: NOW })).hint).toContain("va-agent slot activate A");
  });
});

describe("install's two transitions", () => {
  test("beginInstall: grubenv marks the slot bad first, then the metadata says installing; the running slot is refused", () => {
    const change = beginInstall(twoReleaseBox(), onA, "B");
    expect(change.writes.map((w) => w.file)).toEqual(["grubenv", "metadata"]);
    expect(change.after.env.ok.B).toBe(false);
    expect(change.after.metadata.slots.B).toMatchObject({ state: "installing", release: null, committedAt: null });
    expect(refusal(() => beginInstall(twoReleaseBox(), onA, "A")).refusal).toBe("slot-running");
  });

  test("finishInstall: metadata installed first, then the slot is next in ORDER with its tries reset; refused without beginInstall", () => {
    const begun = beginInstall(migratedBox(), onA, "B").after;
    const change = finishInstall(begun, onA, "B", { product: "va-demo", release: "14.0" });
    expect(change.writes.map((w) => w.file)).toEqual(["metadata", "grubenv"]);
    expect(change.after.metadata.slots.B).toMatchObject({ state: "installed", product: "va-demo", release: "14.0", installedAt: NOW, badReason: null });
    expect(change.after.env).toEqual(env("B A", { A: [true, 0], B: [true, 0] }));
    expect(change.message).toBe("slot B holds va-demo 14.0; next boot: slot B (va-demo 14.0), try 1 of 3");
    expect(refusal(() => finishInstall(migratedBox(), onA, "B", { product: "va-demo", release: "14.0" })).refusal).toBe("not-installing");
  });

  test("a release that panics at boot: after 3 tries GRUB is back on A by itself, and A's commit marks B bad with the reason", () => {
    let state = finishInstall(beginInstall(migratedBox(), onA, "B").after, onA, "B", { product: "va-demo", release: "14.0" }).after;
    const booted: Array<string | null> = [];
    for (let boot = 0; boot < 4; boot++) {
      const grub = bootedByGrub(state);
      booted.push(grub.booted);
      state = grub.after; // B's kernel panics: nothing runs mark-good
      if (grub.booted === "A") state = markGoodChange(state, onA).after;
    }
    expect(booted).toEqual(["B", "B", "B", "A"]);
    expect(state.env).toEqual(env("A B", { A: [true, 0], B: [false, 0] }));
    expect(state.metadata.slots.B.badReason).toBe("did not come up in 3 tries");
  });

  test("a release that boots and is committed stays primary over later reboots", () => {
    let state = finishInstall(beginInstall(migratedBox(), onA, "B").after, onA, "B", { product: "va-demo", release: "14.0" }).after;
    for (let boot = 0; boot < 4; boot++) {
      const grub = bootedByGrub(state);
      expect(grub.booted).toBe("B");
      state = markGoodChange(grub.after, onB).after;
    }
    expect(state.env).toEqual(env("B A", { A: [true, 0], B: [true, 0] }));
  });
});

describe("a pending rescue task (grubenv VA_RESCUE)", () => {
  const pending = (state: SlotState): SlotState => ({ ...state, env: { ...state.env, rescueTask: "merge" } });

  test("read by slotEnvFromVars when non-empty; an empty value is no task", () => {
    const vars = (value: string) => new Map([["ORDER", "A B"], ["A_OK", "1"], ["A_TRY", "0"], [RESCUE_TASK_VARIABLE, value]]);
    expect(slotEnvFromVars(vars("merge")).rescueTask).toBe("merge");
    expect(slotEnvFromVars(vars(" ")).rescueTask).toBe(" ");
    expect(slotEnvFromVars(vars("")).rescueTask).toBeNull();
    expect(slotEnvFromVars(new Map()).rescueTask).toBeNull();
  });

  test("GRUB boots the rescue system whatever the slots say, and counts no try", () => {
    const state = pending(twoReleaseBox());
    expect(bootDecision(state.env, 3)).toEqual({ choice: { boot: "rescue", rescueTask: "merge" }, after: state.env });
    expect(bootedByGrub(state)).toEqual({ booted: null, after: state });
    expect(bootDecision(migratedBox().env, 3).choice).toEqual({ boot: "A", tryNumber: 1 });
    expect(bootDecision(env("A B", { A: [false, 0], B: [false, 0] }), 3).choice).toEqual({ boot: "rescue", rescueTask: null });
  });

  test("every slot transition keeps it: only rescue-task.ts raises and clears it", () => {
    const state = pending(twoReleaseBox());
    const changes = [markGoodChange(state, onA), markBadChange(state, onA, "B"), activateChange(state, "B"), rollbackChange(state, onA), beginInstall(state, onA, "B")];
    expect(changes.map((change) => change.after.env.rescueTask)).toEqual(["merge", "merge", "merge", "merge", "merge"]);
    expect(changes.map((change) => change.message.split("next boot: ")[1]!.split(";")[0])).toEqual(Array(5).fill('the rescue system, to finish the pending rescue task "merge"'));
  });

  test("varsWithSlotEnv neither writes nor drops VA_RESCUE: the block's own value stays", () => {
    const withFlag = new Map([["saved_entry", "0"], [RESCUE_TASK_VARIABLE, "factory-reset"]]);
    expect(varsWithSlotEnv(withFlag, pending(twoReleaseBox()).env).get(RESCUE_TASK_VARIABLE)).toBe("factory-reset");
    expect(varsWithSlotEnv(new Map(), pending(twoReleaseBox()).env).has(RESCUE_TASK_VARIABLE)).toBe(false);
    expect(varsWithSlotEnv(withFlag, twoReleaseBox().env).get(RESCUE_TASK_VARIABLE)).toBe("factory-reset");
  });
});
