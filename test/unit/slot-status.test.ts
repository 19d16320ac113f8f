import { describe, expect, test } from "bun:test";
import { slotCommand } from "../../agent/cli/slot.ts";
import { requestRescueTask, type RescueTask } from "../../agent/rescue/rescue-task.ts";
import { renderSlotStatus, slotStatus } from "../../agent/slots/slot-status.ts";
import { FakeRunner } from "./fake-runner.ts";
import { bootDirWith, env, installed, metadata, migratedBox, NOW, twoReleaseBox } from "./slot-fixture.ts";

describe("slot status", () => {
  test("the report: booted, what boots next (bootDecision), each slot's release, good/bad, tries, commit", () => {
    const report = slotStatus(twoReleaseBox(), "A");
    expect(report).toMatchObject({ booted: "A", primary: "A", rescueTask: null, order: ["A", "B"], tries: 3, warnings: [] });
    expect(report.slots[0]).toEqual({ name: "A", lv: "root", state: "installed", product: "va-demo", release: "14.0", installedAt: "2026-11-01T09:00:00.000Z", good: true, triesUsed: 1, triesLeft: 2, bootable: true, committedAt: NOW, badReason: null, badAt: null, booted: true, primary: true });
    expect(report.slots[1]).toMatchObject({ name: "B", release: "13.0", good: true, triesLeft: 3, booted: false, primary: false });
  });

  test("primary is the first slot in ORDER GRUB would boot, not merely the first in ORDER", () => {
    const spent = { ...twoReleaseBox(), env: env("B A", { A: [true, 1], B: [true, 3] }) };
    expect(slotStatus(spent, "A").primary).toBe("A");
    expect(slotStatus({ ...migratedBox(), env: env("A B", { A: [false, 0], B: [false, 0] }) }, null).primary).toBe("rescue");
  });

  test("rendered for the console", () => {
    const box = { env: env("A B", { A: [true, 1], B: [false, 0] }), metadata: metadata({ A: installed("va-demo", "13.0", { committedAt: NOW }), B: installed("va-demo", "14.0", { badReason: "did not come up in 3 tries", badAt: NOW }) }) };
    expect(renderSlotStatus(slotStatus(box, "A"))).toBe(
      [
        "booted    : slot A",
        "next boot : slot A",
        "order     : A B, up to 3 tries per slot",
        "",
        "slot A (LV root): booted, boots next",
        "  content : va-demo 13.0, installed 2026-11-01T09:00:00.000Z",
        "  boot    : good, 1 of 3 tries used",
        `  commit  : ${NOW}`,
        "",
        "slot B (LV back)",
        "  content : va-demo 14.0, installed 2026-11-01T09:00:00.000Z",
        `  boot    : bad since ${NOW}: did not come up in 3 tries`,
        "  commit  : never",
        "",
      ].join("\n"),
    );
    expect(renderSlotStatus(slotStatus(migratedBox(), null))).toContain("booted    : none (not booted through the slot menu)");
    expect(renderSlotStatus(slotStatus(migratedBox(), "rescue"))).toMatch(/slot B \(LV back\)\n  content : empty\n  boot    : bad\n/);
  });

  test("a good slot whose metadata says empty or installing is a warning: GRUB may boot it", () => {
    const odd = { env: env("B A", { A: [true, 0], B: [true, 0] }), metadata: metadata({ A: installed("va-demo", "13.0"), B: { state: "installing" } }) };
    const report = slotStatus(odd, "A");
    expect(report.warnings).toEqual(["slot B is good in grubenv but its metadata says installing: GRUB may boot it; `va-agent slot mark-bad B` stops that"]);
    expect(renderSlotStatus(report)).toContain("WARNING: slot B is good in grubenv");
  });
});

describe("slot status with a rescue task pending", () => {
  const merge: RescueTask = { task: "merge", snapshot: "before-upgrade", requestedAt: NOW };
  const flagged = (task: string) => ({ ...twoReleaseBox(), env: { ...twoReleaseBox().env, rescueTask: task } });

  test("the next boot is the rescue system, whatever ORDER says; no slot boots next; the slots' own state as it is", () => {
    const report = slotStatus({ ...flagged("merge"), rescueTaskRecord: merge }, "A");
    expect(report).toMatchObject({ primary: "rescue", rescueTask: { task: "merge", record: merge } });
    expect(report.slots.map((slot) => [slot.primary, slot.bootable])).toEqual([[false, true], [false, true]]);
    const text = renderSlotStatus(report);
    expect(text.split("\n").slice(0, 2)).toEqual(["booted    : slot A", "next boot : the rescue system, to finish the merge of snapshot before-upgrade"]);
    expect(text).toContain("slot A (LV root): booted\n");
  });

  test("what the rescue system finishes: from the task file's record, else the grubenv flag alone", () => {
    const next = (state: Parameters<typeof slotStatus>[0]) => renderSlotStatus(slotStatus(state, "A")).split("\n")[1];
    expect(next({ ...flagged("factory-reset"), rescueTaskRecord: { task: "factory-reset", wipeData: true, requestedAt: NOW } })).toBe("next boot : the rescue system, to finish the factory reset (wiping /data)");
    expect(next({ ...flagged("factory-reset"), rescueTaskRecord: { task: "factory-reset", wipeData: false, requestedAt: NOW } })).toBe("next boot : the rescue system, to finish the factory reset (keeping /data)");
    expect(next(flagged("merge"))).toBe('next boot : the rescue system, to finish the pending rescue task "merge"');
    // A record of another task than the flag's is not the flag's record.
    expect(slotStatus({ ...flagged("factory-reset"), rescueTaskRecord: merge }, "A").rescueTask).toEqual({ task: "factory-reset", record: null });
    // Without the flag a leftover record is a finished task.
    expect(slotStatus({ ...twoReleaseBox(), rescueTaskRecord: merge }, "A")).toMatchObject({ primary: "A", rescueTask: null });
  });

  test("`va-agent slot status` on a box with a requested task: text and --json", async () => {
    const dir = bootDirWith(twoReleaseBox());
    requestRescueTask(dir, merge);
    const out: string[] = [];
    const deps = { runner: () => new FakeRunner(), cmdline: () => "root=/dev/mapper/VA-root ro va.slot=A", now: () => new Date(NOW), write: (text: string) => out.push(text), warn: () => {} };
    expect(await slotCommand(["status", "--boot-dir", dir], deps)).toBe(0);
    expect(out.join("")).toContain("\nnext boot : the rescue system, to finish the merge of snapshot before-upgrade\n");
    out.length = 0;
    expect(await slotCommand(["status", "--json", "--boot-dir", dir], deps)).toBe(0);
    expect(JSON.parse(out.join(""))).toMatchObject({ ok: true, primary: "rescue", rescueTask: { task: "merge", record: { task: "merge", snapshot: "before-upgrade" } } });
  });
});
