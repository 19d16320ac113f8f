import { rejection as refusal } from "./fixtures/refusal.ts";
import { existsSync } from "node:fs";
import { snapshotRecordPath, writeSnapshotRecord } from "../../agent/snapshots/records.ts";
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { RescueError, StepFailedError } from "../../agent/errors/errors.ts";
import { LVS_FIELDS } from "../../agent/lvm/logical-volumes.ts";
import { formatArgv } from "../../agent/runner/argv-text.ts";
import { readFactoryResetFacts } from "../../agent/rescue/factory-reset-facts.ts";
import { FACTORY_RESET_PHASES, factoryResetPlanLines, runFactoryReset } from "../../agent/rescue/factory-reset.ts";
import { parseBlkidExport, remakeArgv } from "../../agent/rescue/factory-reset-facts.ts";
import { pendingRescueTask, requestRescueTask } from "../../agent/rescue/rescue-task.ts";
import { readSlotGrubenv } from "../../agent/slots/grubenv-store.ts";
import { slotsMetadataPath } from "../../agent/slots/slot-paths.ts";
import { fileSlotStore } from "../../agent/slots/slot-store.ts";
import { outline } from "../../agent/steps/outline.ts";
import { conforms } from "./fixtures/plan-conformance.ts";
import { BLKID, boxLvs, FACTORY, fakeTools, GIB, rescueBootDir, rescueCli, rescueContext, rescueRunner } from "./rescue-fixture.ts";
import { NOW, twoReleaseBox } from "./slot-fixture.ts";

const LVS = `lvm lvs --reportformat json --units b --nosuffix --all --options ${LVS_FIELDS} VA`;
const BYTES = 3 * GIB;
const VERIFY = ["lvm lvchange --activate y --ignoreactivationskip VA/factory", `'<hash /dev/mapper/VA-factory ${BYTES}>'`];
const COPY = ["lvm lvchange --activate y VA/root", `'<copy /dev/mapper/VA-factory /dev/mapper/VA-root ${BYTES}>'`, "lvm lvchange --activate n VA/factory"];
const REBOOT = ["sync", "reboot -f"];

function box() {
  const dir = rescueBootDir(twoReleaseBox());
  const run = rescueRunner();
  const tools = fakeTools(run);
  return { dir, run, tools, cli: rescueCli(run, tools) };
}

/** The end state of a reset: A the factory release, good, first, no tries; B empty and not good; no task; other grubenv variables kept. */
function expectReset(dir: string): void {
  const { env, metadata } = fileSlotStore(dir).read();
  expect(env).toEqual({ order: ["A", "B"], ok: { A: true, B: false }, tries: { A: 0, B: 0 }, rescueTask: null });
  expect(metadata.slots.A).toMatchObject({ state: "installed", product: "va-demo", release: "13.0", installedAt: NOW, committedAt: null, badReason: null });
  expect(metadata.slots.B).toEqual({ lv: "back", state: "empty", product: null, release: null, installedAt: null, committedAt: null, badReason: null, badAt: null });
  expect(pendingRescueTask(dir)).toBeNull();
  const vars = readSlotGrubenv(dir).vars;
  expect(vars.has("VA_RESCUE")).toBe(false);
  expect(vars.get("saved_entry")).toBe("0");
}

/** The box's slot state as rescueBootDir wrote it. */
function unchanged() {
  const state = twoReleaseBox();
  return { ...state, metadata: { ...state.metadata, vg: "VA" } };
}


describe("va-agent rescue factory-reset: the exact commands", () => {
  test("--keep-data: verify, the snapshot set of slot A removed whole with its record, the image copied into slot A, /data untouched, reboot", async () => {
    const { dir, run, cli } = box();
    writeSnapshotRecord(dir, { format: 1, name: "before", vg: "VA", createdAt: NOW, origins: [] });
    expect(await cli.rescue("factory-reset", "--keep-data", "--boot-dir", dir)).toBe(0);
    // The set's /data snapshot goes too: merged later, its record would put back slot A's state of before the reset.
    expect(run.calls.map(formatArgv)).toEqual([LVS, ...VERIFY, "lvm lvremove --yes VA/root.snap.before", "lvm lvremove --yes VA/data.snap.before", ...COPY, ...REBOOT]);
    expect(existsSync(snapshotRecordPath(dir, "before"))).toBe(false);
    expect(run.calls.map(formatArgv).join("\n")).not.toContain("VA-data");
    expectReset(dir);
    expect(cli.text()).toBe("slot A holds va-demo 13.0 again (the factory point), slot B is empty, the data kept; rebooting\n");
  });

  test("--wipe-data: blkid reads each other LV, every filesystem made anew with its type, UUID and label, their snapshots removed too", async () => {
    const { dir, run, cli } = box();
    expect(await cli.rescue("factory-reset", "--wipe-data", "--boot-dir", dir)).toBe(0);
    expect(run.calls.map(formatArgv)).toEqual([
      LVS,
      "blkid -o export /dev/mapper/VA-data",
      "blkid -o export /dev/mapper/VA-swap",
      ...VERIFY,
      "lvm lvremove --yes VA/root.snap.before",
      "lvm lvremove --yes VA/data.snap.before",
      ...COPY,
      "mkfs.ext4 -F -q -L data -U 0d0d0d0d-1111-4222-8333-944445555666 /dev/mapper/VA-data",
      "mkswap -U 5a5a0000-1111-4222-8333-944445555666 /dev/mapper/VA-swap",
      ...REBOOT,
    ]);
    expectReset(dir);
  });

  test("an LV without a filesystem is left as it is by --wipe-data; xfs keeps its UUID through -m uuid=", () => {
    expect(remakeArgv({ lv: "logs", device: "/dev/mapper/VA-logs", type: "xfs", uuid: "u-1", label: "logs" })).toEqual(["mkfs.xfs", "-f", "-L", "logs", "-m", "uuid=u-1", "/dev/mapper/VA-logs"]);
    expect(parseBlkidExport("TYPE=ext4\nLABEL=my\\ data\n").get("LABEL")).toBe("my data");
  });

  test("--yes keeps the data and asks nothing", async () => {
    const { dir, run, cli } = box();
    expect(await cli.rescue("factory-reset", "--yes", "--boot-dir", dir)).toBe(0);
    expect(cli.questions).toEqual([]);
    expect(run.calls.map(formatArgv)).not.toContain("blkid -o export /dev/mapper/VA-data");
  });

  test("on a terminal: asked whether to keep the data (default yes), then to type reset", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    const run = rescueRunner();
    const cli = rescueCli(run, fakeTools(run), { answers: ["", "reset"] });
    expect(await cli.rescue("factory-reset", "--boot-dir", dir)).toBe(0);
    expect(cli.questions).toEqual(["Factory reset: keep /data and the other filesystems of VA? [Y/n] ", 'Overwrite slot A with va-demo 13.0? Type "reset" to go on: ']);
    expect(cli.text()).toContain("  data         : kept: LV VA/data, LV VA/swap");
    expectReset(dir);
  });

  test("on a terminal, answering n wipes, and anything but reset changes nothing", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    const run = rescueRunner();
    const cli = rescueCli(run, fakeTools(run), { answers: ["n", "yes"] });
    const error = await refusal(cli.rescue("factory-reset", "--boot-dir", dir));
    expect(error).toBeInstanceOf(RescueError);
    expect(error.message).toBe('factory reset not confirmed: the answer was "yes", not "reset"');
    expect(cli.questions[1]).toContain("and WIPE the data");
    expect(run.calls.map(formatArgv)).toEqual([LVS, "blkid -o export /dev/mapper/VA-data", "blkid -o export /dev/mapper/VA-swap"]);
    expect(fileSlotStore(dir).read()).toEqual(unchanged());
  });

  test("no terminal and no flag: refused, nothing run", async () => {
    const { dir, run, cli } = box();
    const error = await refusal(cli.rescue("factory-reset", "--boot-dir", dir));
    expect(error.message).toBe("factory reset not confirmed: the console is not a terminal, so nobody was asked");
    expect(error.hint).toContain("--keep-data");
    expect(run.calls).toEqual([]);
  });
});

describe("va-agent rescue factory-reset --dry-run", () => {
  test("prints every phase and command, runs only the read-only probes, writes nothing", async () => {
    const { dir, run, tools, cli } = box();
    const before = readFileSync(slotsMetadataPath(dir), "utf8");
    expect(await cli.rescue("factory-reset", "--wipe-data", "--dry-run", "--boot-dir", dir)).toBe(0);
    const rctx = rescueContext(dir, rescueRunner());
    const facts = await readFactoryResetFacts(rctx, tools, true);
    expect(cli.text()).toBe(`${factoryResetPlanLines({ rctx, facts, tools }).join("\n")}\n`);
    for (const line of [
      "va-agent rescue factory-reset: slot A back to va-demo 13.0, the factory point of 2026-11-01T09:06:00.000Z",
      "  snapshots    : removed: root.snap.before, data.snap.before",
      " 1. verify-factory-image: ",
      "      + lvm lvchange --activate y --ignoreactivationskip VA/factory",
      "      + lvm lvremove --yes VA/root.snap.before",
      "      + mkfs.ext4 -F -q -L data -U 0d0d0d0d-1111-4222-8333-944445555666 /dev/mapper/VA-data",
      "      + lvm lvchange --activate n VA/factory",
      "then, after the result is printed: + sync; + reboot -f (slot A boots)",
    ]) {
      expect(cli.text()).toContain(line);
    }
    expect(run.calls.map(formatArgv)).toEqual([LVS, "blkid -o export /dev/mapper/VA-data", "blkid -o export /dev/mapper/VA-swap"]);
    expect(readFileSync(slotsMetadataPath(dir), "utf8")).toBe(before);
    expect(pendingRescueTask(dir)).toBeNull();
  });

  test("--json: the plan's lines in one object", async () => {
    const { dir, cli } = box();
    expect(await cli.rescue("factory-reset", "--dry-run", "--json", "--boot-dir", dir)).toBe(0);
    const document = JSON.parse(cli.text());
    expect(document).toMatchObject({ ok: true, command: "factory-reset", dryRun: true, wipeData: false });
    expect(document.plan).toContain(" 6. wipe-data: with --wipe-data only: the other filesystems of the VG made anew with their type, UUID and label");
    expect(document.plan).toContain("      nothing");
  });

  test("the plan is the run: each phase performs exactly the entries it renders", async () => {
    const { dir, run, tools } = box();
    const rctx = rescueContext(dir, run);
    const f = { rctx, facts: await readFactoryResetFacts(rctx, tools, true), tools };
    const planned = FACTORY_RESET_PHASES.map((phase) => outline(phase.entries(f)));
    const performed = await runFactoryReset(f);
    expect(performed.map((p) => p.phase)).toEqual(FACTORY_RESET_PHASES.map((p) => p.name));
    planned.forEach((nodes, i) => conforms(nodes, performed[i]!.entries, performed[i]!.phase));
  });
});

describe("va-agent rescue factory-reset refuses before anything is written", () => {
  test("no factory point recorded", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    const run = rescueRunner();
    const error = await refusal(rescueCli(run, fakeTools(run, null)).rescue("factory-reset", "--yes", "--boot-dir", dir));
    expect(error.message).toContain("no factory point: ");
    expect(error.hint).toContain("va-agent rescue install");
    expect(run.calls).toEqual([]);
  });

  test("a damaged factory image: stopped by the hash, before the task or any write", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    const run = rescueRunner();
    const error = await refusal(rescueCli(run, fakeTools(run, FACTORY, { hash: "0".repeat(64) })).rescue("factory-reset", "--yes", "--boot-dir", dir));
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error.exitCode).toBe(19);
    expect(error.message).toContain("does not match factory.json");
    expect(error.hint).toStartWith("Nothing was written: the slots and the data are as they were.");
    expect(run.calls.map(formatArgv)).toEqual([LVS, ...VERIFY]);
    expect(fileSlotStore(dir).read()).toEqual(unchanged());
    expect(pendingRescueTask(dir)).toBeNull();
  });

  test("slot A's LV open, a snapshot being merged, a factory LV smaller than its image, an image recorded from another LV", async () => {
    const cases: [string, (rows: ReturnType<typeof boxLvs>) => void, string][] = [
      ["open", (rows) => (rows[0]!.attr = "-wi-ao----"), "LV VA/root is open (mounted or in use)"],
      ["merging", (rows) => (rows[5]!.attr = "Swi-a-s---"), "snapshot VA/root.snap.before is being merged into its origin"],
      ["small", (rows) => (rows[4]!.size = GIB), `the factory LV VA/factory has ${GIB} bytes, factory.json says the image has ${BYTES}`],
      ["slot-a-small", (rows) => (rows[0]!.size = 2 * GIB), `slot A's LV VA/root has ${2 * GIB} bytes, the factory image ${BYTES}`],
      ["no-factory-lv", (rows) => rows.splice(4, 1), "the VG VA has no LV factory (the factory image)"],
    ];
    for (const [, change, message] of cases) {
      const rows = boxLvs();
      change(rows);
      const dir = rescueBootDir(twoReleaseBox());
      const run = rescueRunner(rows);
      const error = await refusal(rescueCli(run, fakeTools(run)).rescue("factory-reset", "--yes", "--boot-dir", dir));
      expect(error.message).toBe(`factory reset refused: ${message}`);
      expect(error.hint).toStartWith("Nothing was written: the slots and the data are as they were.");
      expect(run.calls.map(formatArgv)).toEqual([LVS]);
    }
    const dir = rescueBootDir(twoReleaseBox());
    const run = rescueRunner();
    const moved = await refusal(rescueCli(run, fakeTools(run, { ...FACTORY, originLv: "old-root" })).rescue("factory-reset", "--yes", "--boot-dir", dir));
    expect(moved.message).toBe("factory reset refused: factory.json was recorded from LV VA/old-root, but slot A is LV VA/root");
  });

  test("--wipe-data on a filesystem it cannot make anew (btrfs), or an inactive LV", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    const run = rescueRunner(boxLvs(), { ...BLKID, "/dev/mapper/VA-data": "TYPE=btrfs\nUUID=u\n" });
    const error = await refusal(rescueCli(run, fakeTools(run)).rescue("factory-reset", "--wipe-data", "--boot-dir", dir));
    expect(error.message).toBe("factory reset refused: LV VA/data holds a btrfs filesystem, which the factory reset cannot make anew");
    expect(error.hint).toContain("--keep-data");
    const rows = boxLvs();
    rows[2]!.attr = "-wi-------";
    const inactive = rescueRunner(rows);
    const second = await refusal(rescueCli(inactive, fakeTools(inactive)).rescue("factory-reset", "--wipe-data", "--boot-dir", dir));
    expect(second.message).toContain("LV VA/data is not active");
    expect(inactive.calls.map(formatArgv)).toEqual([LVS]);
  });

  test("a pending merge: finished first by rescue start", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    requestRescueTask(dir, { task: "merge", snapshot: "before", requestedAt: NOW });
    const run = rescueRunner();
    const error = await refusal(rescueCli(run, fakeTools(run)).rescue("factory-reset", "--yes", "--boot-dir", dir));
    expect(error.message).toBe("the merge of snapshot before is pending: a factory reset now would leave it half done");
    expect(run.calls).toEqual([]);
  });

  test("--wipe-data with --keep-data is a usage error", async () => {
    const { dir, cli } = box();
    expect(await cli.rescue("factory-reset", "--wipe-data", "--keep-data", "--json", "--boot-dir", dir)).toBe(2);
  });
});

describe("va-agent rescue factory-reset from a running slot", () => {
  const RUNNING = "root=/dev/mapper/VA-back ro va.slot=B panic=10";

  test("requested as the rescue task (file, then VA_RESCUE), then systemctl reboot; no LV is touched", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    const run = rescueRunner();
    const cli = rescueCli(run, fakeTools(run), { cmdline: RUNNING });
    expect(await cli.rescue("factory-reset", "--keep-data", "--yes", "--json", "--boot-dir", dir)).toBe(0);
    expect(run.calls.map(formatArgv)).toEqual(["systemctl reboot"]);
    expect(JSON.parse(cli.text())).toMatchObject({ ok: true, command: "factory-reset", requested: true, wipeData: false, release: { product: "va-demo", release: "13.0" }, rebooting: true });
    expect(pendingRescueTask(dir)).toEqual({ task: "factory-reset", wipeData: false, requestedAt: NOW });
    expect(readSlotGrubenv(dir).vars.get("VA_RESCUE")).toBe("factory-reset");
    expect(fileSlotStore(dir).read().metadata).toEqual(unchanged().metadata);
  });

  test("--dry-run: what is requested and the reboot, nothing run", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    const run = rescueRunner();
    const cli = rescueCli(run, fakeTools(run), { cmdline: RUNNING });
    expect(await cli.rescue("factory-reset", "--wipe-data", "--dry-run", "--boot-dir", dir)).toBe(0);
    expect(cli.text()).toBe(
      [
        "va-agent rescue factory-reset from the running slot B: requested here, run by the rescue system at the next boot",
        `  factory point: va-demo 13.0 of 2026-11-01T09:06:00.000Z, LV VA/factory, ${BYTES} bytes`,
        "  data         : wiped (--wipe-data): the other filesystems of the VG made anew",
        "",
        " 1. request-task: the reset recorded as the pending rescue task: GRUB boots the rescue system, which runs it",
        `      write ${dir}/va-agent/rescue-task.json, ${dir}/grub/grubenv: the task factory-reset (wipeData true), then VA_RESCUE=factory-reset in grubenv`,
        "",
        "then, after the result is printed: + systemctl reboot; the rescue system verifies the image before it writes anything (`va-agent rescue factory-reset --dry-run` there shows every command)",
        "",
      ].join("\n"),
    );
    expect(run.calls).toEqual([]);
    expect(pendingRescueTask(dir)).toBeNull();
  });

  test("no factory point: refused there already, nothing requested", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    const run = rescueRunner();
    const error = await refusal(rescueCli(run, fakeTools(run, null), { cmdline: RUNNING }).rescue("factory-reset", "--yes", "--boot-dir", dir));
    expect(error.message).toContain("no factory point");
    expect(run.calls).toEqual([]);
    expect(pendingRescueTask(dir)).toBeNull();
  });
});

describe("a reset cut short", () => {
  test("the copy fails: slot A stays marked bad, B empty, the task pending; the error says so; run again, it completes", async () => {
    const dir = rescueBootDir(twoReleaseBox());
    const run = rescueRunner();
    const error = await refusal(rescueCli(run, fakeTools(run, FACTORY, { failCopy: true })).rescue("factory-reset", "--wipe-data", "--boot-dir", dir));
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error.message).toContain("step factory-reset copy-factory-image failed: Input/output error");
    expect(error.hint).toStartWith("Slot A (LV VA/root) is marked bad and may be half written; slot B is marked empty. The reset is the pending rescue task");
    const cut = fileSlotStore(dir).read();
    expect([cut.env.ok.A, cut.env.ok.B, cut.metadata.slots.A.state, cut.metadata.slots.B.state]).toEqual([false, false, "installing", "empty"]);
    expect(pendingRescueTask(dir)).toEqual({ task: "factory-reset", wipeData: true, requestedAt: NOW });
    expect(run.calls.map(formatArgv)).not.toContain("sync");

    const again = rescueRunner(boxLvs().filter((lv) => !lv.origin));
    expect(await rescueCli(again, fakeTools(again)).rescue("factory-reset", "--wipe-data", "--boot-dir", dir)).toBe(0);
    expectReset(dir);
  });
});
