import { describe, expect, test } from "bun:test";
import { UsageError } from "../../agent/errors/errors.ts";
import { parseRescueArgs } from "../../agent/cli/rescue.ts";
import { pendingRescueTask, requestRescueTask, rescueTaskPath } from "../../agent/rescue/rescue-task.ts";
import { readSlotGrubenv } from "../../agent/slots/grubenv-store.ts";
import { existsSync, writeFileSync } from "node:fs";
import { fakeTools, rescueBootDir, rescueCli, rescueRunner } from "./rescue-fixture.ts";
import { migratedBox, NOW } from "./slot-fixture.ts";

describe("va-agent rescue status", () => {
  test("--json: the slots, the tagged snapshots, the factory point, the pending task (works from a running slot too)", async () => {
    const dir = rescueBootDir(migratedBox());
    requestRescueTask(dir, { task: "merge", snapshot: "before", requestedAt: NOW });
    const run = rescueRunner([{ name: "root" }, { name: "back" }, { name: "root.snap.before", origin: "root", tags: ["va.snapshot", "va.snapshot.before"] }, { name: "root.snap.other", origin: "root" }]);
    const cli = rescueCli(run, fakeTools(run), { cmdline: "va.slot=A" });
    expect(await cli.rescue("status", "--json", "--boot-dir", dir)).toBe(0);
    const document = JSON.parse(cli.text());
    expect(document).toMatchObject({ ok: true, command: "status", vg: "VA", slots: { booted: "rescue", primary: "rescue", rescueTask: { task: "merge", record: { snapshot: "before" } } }, factory: { release: "13.0", lv: "factory" }, task: { task: "merge", snapshot: "before" }, taskProblem: null });
    expect(document.snapshots).toEqual([{ lv: "root.snap.before", origin: "root", sizeBytes: 4 * 1024 ** 3, usePercent: 12.5, invalid: false, merging: false }]);
  });

  test("text: an unreadable task is shown, not fatal; no factory point says reset is not possible", async () => {
    const dir = rescueBootDir(migratedBox());
    requestRescueTask(dir, { task: "merge", snapshot: "before", requestedAt: NOW });
    writeFileSync(rescueTaskPath(dir), "[]");
    const run = rescueRunner([{ name: "root" }, { name: "back" }]);
    const cli = rescueCli(run, fakeTools(run, null));
    expect(await cli.rescue("status", "--boot-dir", dir)).toBe(0);
    expect(cli.text()).toContain("snapshots (VG VA):\n  none\n\nfactory point: none recorded (factory-reset is not possible)\npending task : unreadable: ");
  });
});

describe("va-agent rescue clear-task", () => {
  test("VA_RESCUE and the task file removed, the other grubenv variables kept; no command", async () => {
    const dir = rescueBootDir(migratedBox());
    requestRescueTask(dir, { task: "factory-reset", wipeData: false, requestedAt: NOW });
    const run = rescueRunner();
    const cli = rescueCli(run, fakeTools(run));
    expect(await cli.rescue("clear-task", "--boot-dir", dir)).toBe(0);
    expect(cli.text()).toBe("rescue task cleared (factory-reset); the slot menu boots the slots again\n");
    expect(pendingRescueTask(dir)).toBeNull();
    expect(existsSync(rescueTaskPath(dir))).toBe(false);
    expect(readSlotGrubenv(dir).vars.get("saved_entry")).toBe("0");
    expect(run.calls).toEqual([]);
  });
});

describe("rescue arguments", () => {
  test("help, unknown subcommands and options, options of another subcommand", async () => {
    const run = rescueRunner();
    const cli = rescueCli(run, fakeTools(run));
    expect(await cli.rescue("--help")).toBe(0);
    expect(cli.text()).toContain("va-agent rescue factory-reset [--keep-data|--wipe-data] [--yes] [--dry-run] [--json]");
    expect(() => parseRescueArgs(["reboot"])).toThrow(UsageError);
    expect(() => parseRescueArgs(["status", "--wipe-data"])).toThrow("va-agent rescue status does not take --wipe-data");
    expect(() => parseRescueArgs(["install", "--slot"])).toThrow("--slot needs a value");
    expect(parseRescueArgs(["install", "--label=STICK", "--path", "x.tar", "--slot", "b"]).options.get("--label")).toBe("STICK");
    await expect(cli.rescue("install", "/x.tar", "--slot", "C", "--boot-dir", rescueBootDir(migratedBox()))).rejects.toThrow("--slot takes A or B");
  });
});
