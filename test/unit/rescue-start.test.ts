import { rejection as refusal } from "./fixtures/refusal.ts";
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { RescueError, StepFailedError } from "../../agent/errors/errors.ts";
import { LVS_FIELDS } from "../../agent/lvm/logical-volumes.ts";
import { formatArgv } from "../../agent/runner/argv-text.ts";
import { slotVolumeGroup } from "../../agent/rescue/rescue-context.ts";
import { pendingRescueTask, requestRescueTask, rescueTaskPath } from "../../agent/rescue/rescue-task.ts";
import { readSlotGrubenv } from "../../agent/slots/grubenv-store.ts";
import { fileSlotStore } from "../../agent/slots/slot-store.ts";
import { fakeTools, GIB, lvsJson, rescueBootDir, rescueCli, rescueRunner } from "./rescue-fixture.ts";
import { FakeRunner } from "./fake-runner.ts";
import { migratedBox, NOW, twoReleaseBox } from "./slot-fixture.ts";

const LVS = `lvm lvs --reportformat json --units b --nosuffix --all --options ${LVS_FIELDS} VA`;
const ACTIVATE = "lvm vgchange --activate y VA";


describe("va-agent rescue start", () => {
  test("no task: the VG activated, the status and the menu printed, no reboot", async () => {
    const dir = rescueBootDir(migratedBox());
    const run = rescueRunner();
    const cli = rescueCli(run, fakeTools(run));
    expect(await cli.rescue("start", "--boot-dir", dir)).toBe(0);
    expect(run.calls.map(formatArgv)).toEqual([ACTIVATE, LVS]);
    const text = cli.text();
    expect(text).toStartWith("booted    : the rescue system\nnext boot : slot A\n");
    expect(text).toContain("snapshots (VG VA):\n  root.snap.before of root: 1.00 GiB, 12.5% used\n  data.snap.before of data: 1.00 GiB, 12.5% used\n");
    expect(text).toContain("factory point: va-demo 13.0 of slot A, LV VA/factory, 3.00 GiB, recorded 2026-11-01T09:06:00.000Z\npending task : none\n");
    expect(text).toContain("what the rescue system can do:\n  va-agent rescue status");
  });

  test("a pending merge: completed through the snapshot code, the task cleared, then sync and reboot -f", async () => {
    const dir = rescueBootDir(migratedBox());
    requestRescueTask(dir, { task: "merge", snapshot: "before", requestedAt: NOW });
    const run = rescueRunner();
    const cli = rescueCli(run, fakeTools(run));
    expect(await cli.rescue("start", "--boot-dir", dir)).toBe(0);
    expect(run.calls.map(formatArgv)).toEqual([ACTIVATE, "'<merge VA before>'", "sync", "reboot -f"]);
    expect(pendingRescueTask(dir)).toBeNull();
    expect(readSlotGrubenv(dir).vars.has("VA_RESCUE")).toBe(false);
    expect(cli.text()).toBe("rescue task merge finished; rebooting\n");
  });

  test("a merge that fails: the task stays pending, no reboot, the error says every boot comes back to continue it", async () => {
    const dir = rescueBootDir(migratedBox());
    requestRescueTask(dir, { task: "merge", snapshot: "before", requestedAt: NOW });
    const run = rescueRunner();
    const error = await refusal(rescueCli(run, fakeTools(run, undefined, { failMerge: true })).rescue("start", "--boot-dir", dir));
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error.hint).toStartWith("The merge of snapshot before stays the pending rescue task: every boot comes back to the rescue system");
    expect(run.calls.map(formatArgv)).toEqual([ACTIVATE, "'<merge VA before>'"]);
    expect(pendingRescueTask(dir)).toMatchObject({ task: "merge", snapshot: "before" });
  });

  test("a pending factory reset (wiping, as requested): the whole reset, then the reboot", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    requestRescueTask(dir, { task: "factory-reset", wipeData: true, requestedAt: NOW });
    const run = rescueRunner();
    const cli = rescueCli(run, fakeTools(run));
    expect(await cli.rescue("start", "--json", "--boot-dir", dir)).toBe(0);
    expect(run.calls.map(formatArgv)).toEqual([
      ACTIVATE,
      LVS,
      "blkid -o export /dev/mapper/VA-data",
      "blkid -o export /dev/mapper/VA-swap",
      "lvm lvchange --activate y --ignoreactivationskip VA/factory",
      `'<hash /dev/mapper/VA-factory ${3 * GIB}>'`,
      "lvm lvremove --yes VA/root.snap.before",
      "lvm lvremove --yes VA/data.snap.before",
      "lvm lvchange --activate y VA/root",
      `'<copy /dev/mapper/VA-factory /dev/mapper/VA-root ${3 * GIB}>'`,
      "lvm lvchange --activate n VA/factory",
      "mkfs.ext4 -F -q -L data -U 0d0d0d0d-1111-4222-8333-944445555666 /dev/mapper/VA-data",
      "mkswap -U 5a5a0000-1111-4222-8333-944445555666 /dev/mapper/VA-swap",
      "sync",
      "reboot -f",
    ]);
    expect(JSON.parse(cli.text())).toMatchObject({ ok: true, command: "start", task: { task: "factory-reset", wipeData: true }, rebooting: true });
    expect(pendingRescueTask(dir)).toBeNull();
    expect(fileSlotStore(dir).read().metadata.slots.A.release).toBe("13.0");
  });

  test("a damaged task file: refused with how to clear it, nothing run after the activation", async () => {
    const dir = rescueBootDir(migratedBox());
    requestRescueTask(dir, { task: "merge", snapshot: "before", requestedAt: NOW });
    writeFileSync(rescueTaskPath(dir), "{ not json");
    const run = rescueRunner();
    const error = await refusal(rescueCli(run, fakeTools(run)).rescue("start", "--boot-dir", dir));
    expect(error).toBeInstanceOf(RescueError);
    expect(error.hint).toContain("va-agent rescue clear-task");
    expect(run.calls.map(formatArgv)).toEqual([ACTIVATE]);
  });

  test("outside the rescue system: refused before any command (it reboots)", async () => {
    const dir = rescueBootDir(migratedBox());
    const run = rescueRunner();
    const error = await refusal(rescueCli(run, fakeTools(run), { cmdline: "va.slot=A" }).rescue("start", "--boot-dir", dir));
    expect(error.message).toContain("runs only in the rescue system");
    expect(run.calls).toEqual([]);
  });

  test("no shared boot partition mounted: refused, saying how to mount it", async () => {
    const run = rescueRunner();
    const error = await refusal(rescueCli(run, fakeTools(run)).rescue("start", "--boot-dir", "/nonexistent/boot"));
    expect(error.message).toBe("no slot state at /nonexistent/boot/va-agent/slots.json: the shared boot partition is not mounted at /nonexistent/boot");
    expect(error.hint).toContain("blkid -t TYPE=ext4");
    expect(run.calls).toEqual([]);
  });
});

describe("the VG of the slots", () => {
  const metadata = { ...migratedBox().metadata, vg: null };
  const pvs = (vgs: string[]) => JSON.stringify({ report: [{ pv: vgs.map((vg, i) => ({ pv_name: `/dev/vda${i + 3}`, vg_name: vg })) }] });
  const runner = (vgs: string[], holding: Record<string, string[]>) =>
    new FakeRunner()
      .respond((argv) => (argv[1] === "pvs" ? { stdout: pvs(vgs) } : undefined))
      .respond((argv) => (argv[1] === "lvs" ? { stdout: lvsJson((holding[argv.at(-1)!] ?? []).map((name) => ({ name })), argv.at(-1)) } : undefined));

  test("slots.json's when it names one (no command)", async () => {
    const run = new FakeRunner();
    expect(await slotVolumeGroup(run, { ...metadata, vg: "VA" })).toBe("VA");
    expect(run.calls).toEqual([]);
  });

  test("an old slots.json: the one VG holding both slot LVs", async () => {
    const run = runner(["other", "VA"], { other: ["root"], VA: ["root", "back", "data"] });
    expect(await slotVolumeGroup(run, metadata)).toBe("VA");
    expect(run.calls.map((argv) => argv.slice(0, 2).concat(argv.at(-1)!).join(" "))).toEqual(["lvm pvs pv_name,vg_name", "lvm lvs VA", "lvm lvs other"]);
  });

  test("none or several: refused, naming --vg", async () => {
    expect((await refusal(slotVolumeGroup(runner(["x"], { x: ["root"] }), metadata))).message).toBe("no volume group holds both slot LVs root and back (VGs seen: x)");
    const several = await refusal(slotVolumeGroup(runner(["x", "y"], { x: ["root", "back"], y: ["root", "back"] }), metadata));
    expect(several.message).toBe("several volume groups hold both slot LVs root and back: x, y");
    expect(several.hint).toContain("--vg VG");
  });
});

