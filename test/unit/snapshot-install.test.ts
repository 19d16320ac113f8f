import { afterAll, describe, expect, test } from "bun:test";
import { InstallError } from "../../agent/errors/errors.ts";
import { slotStepContext } from "../../agent/slots/install-carry-over.ts";
import type { InstallContext } from "../../agent/slots/install-context.ts";
import { installPlanLines } from "../../agent/slots/install-plan.ts";
import { beforeUpgradeEntries, targetSnapshotEntries } from "../../agent/slots/install-snapshots.ts";
import { readSnapshotRecord, writeSnapshotRecord } from "../../agent/snapshots/records.ts";
import { perform } from "../../agent/steps/perform.ts";
import type { Entry } from "../../agent/steps/entry.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { removeWorkspaces } from "./bundle-fixture.ts";
import { FakeRunner } from "./fake-runner.ts";
import { bootDirWith, migratedBox } from "./slot-fixture.ts";
import { installContext, slotWorld } from "./slot-install-fixture.ts";

afterAll(removeWorkspaces);

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const LVS = "lvm lvs --reportformat json --units b --nosuffix --all --options lv_name,vg_name,lv_uuid,lv_path,lv_size,origin,snap_percent,lv_attr,lv_tags,lv_time VA";
const VGS = "lvm vgs --reportformat json --units b --nosuffix --options vg_free,vg_extent_size VA";

type Row = { name: string; size: number; origin?: string; attr?: string; tags?: string[] };

function lvm(rows: Row[], freeBytes: number): FakeRunner {
  const lv = (r: Row) => ({ lv_name: r.name, vg_name: "VA", lv_uuid: "u", lv_path: `/dev/VA/${r.name}`, lv_size: String(r.size), origin: r.origin ?? "", snap_percent: r.origin ? "1.00" : "", lv_attr: r.attr ?? (r.origin ? "swi-a-s---" : "-wi-a-----"), lv_tags: (r.tags ?? []).join(","), lv_time: "" });
  return new FakeRunner().respond((argv) => {
    if (argv.join(" ") === LVS) return { stdout: JSON.stringify({ report: [{ lv: rows.map(lv) }] }) };
    if (argv.join(" ") === VGS) return { stdout: JSON.stringify({ report: [{ vg: [{ vg_free: String(freeBytes), vg_extent_size: String(4 * MIB) }] }] }) };
    return undefined;
  });
}

const SLOTS: Row[] = [{ name: "root", size: 2 * GIB, attr: "-wi-ao----" }, { name: "back", size: 2 * GIB }];
const tagged = (name: string, origin: string, attr?: string): Row => ({ name: `${origin}.snap.${name}`, size: 400 * MIB, origin, tags: ["va.snapshot", `va.snapshot.${name}`], ...(attr ? { attr } : {}) });

async function snapshotsOn(beforeInstall: boolean): Promise<InstallContext> {
  const world = await slotWorld();
  const ictx = await installContext(world);
  const layout = { ...ictx.facts.layout, snapshots: { reserve: "4GiB", cowPercent: 20, extendAtPercent: 70, beforeInstall } };
  return { ...ictx, setup: { ...ictx.setup, bootMount: bootDirWith(migratedBox()) }, facts: { ...ictx.facts, layout } };
}

const silent = silentLog();
const run = (ictx: InstallContext, runner: FakeRunner, entries: Entry[]) => perform({ ...slotStepContext(ictx), run: runner, log: silent }, entries);

describe("install and snapshots", () => {
  test("a target slot LV with a snapshot is refused in check-slot, after lvs only (exit 17)", async () => {
    const ictx = await snapshotsOn(false);
    const runner = lvm([...SLOTS, tagged("mine", "back")], GIB);
    const error = (await run(ictx, runner, targetSnapshotEntries(ictx)).then(
      () => undefined,
      (e: unknown) => e,
    )) as InstallError;
    expect(error).toBeInstanceOf(InstallError);
    expect(error.message).toBe("slot B (LV VA/back) has snapshots: mine; the install rewrites the whole LV, which would overflow them");
    expect(error.hint).toContain("nothing was written");
    expect(runner.calls.map((a) => a.join(" "))).toEqual([LVS]);
  });

  test("a snapshot of the running slot is no reason to refuse; before-upgrade on the target is, unless the install replaces it", async () => {
    const off = await snapshotsOn(false);
    await run(off, lvm([...SLOTS, tagged("x", "root")], GIB), targetSnapshotEntries(off));
    await expect(run(off, lvm([...SLOTS, tagged("before-upgrade", "back")], GIB), targetSnapshotEntries(off))).rejects.toThrow("has snapshots: before-upgrade");
    const on = await snapshotsOn(true);
    await run(on, lvm([...SLOTS, tagged("before-upgrade", "back")], GIB), targetSnapshotEntries(on));
    await expect(run(on, lvm([...SLOTS, tagged("before-upgrade", "back", "Swi-a-s---")], GIB), targetSnapshotEntries(on))).rejects.toThrow("before-upgrade (being merged)");
  });

  test("without snapshot settings the install has no snapshot entries (the existing timeline)", async () => {
    const world = await slotWorld();
    const ictx = await installContext(world);
    expect([...targetSnapshotEntries(ictx), ...beforeUpgradeEntries(ictx)]).toEqual([]);
  });

  test("beforeInstall: the previous before-upgrade LVs removed, the running slot snapshotted with both tags, its record written", async () => {
    const ictx = await snapshotsOn(true);
    writeSnapshotRecord(ictx.setup.bootMount, { format: 1, name: "before-upgrade", vg: "VA", createdAt: "2026-01-01T00:00:00.000Z", origins: [] });
    const runner = lvm([...SLOTS, tagged("before-upgrade", "back")], 100 * MIB);
    await run(ictx, runner, beforeUpgradeEntries(ictx));
    expect(runner.calls.map((a) => a.join(" "))).toEqual([
      LVS,
      VGS,
      "lvm lvremove --yes VA/back.snap.before-upgrade",
      "lvm lvcreate --yes --snapshot --name root.snap.before-upgrade --size 432013312b --addtag va.snapshot --addtag va.snapshot.before-upgrade VA/root",
    ]);
    const record = readSnapshotRecord(ictx.setup.bootMount, "before-upgrade")!;
    expect(record.origins).toEqual([{ lv: "root", snapshotLv: "root.snap.before-upgrade", slot: "A", slotState: expect.objectContaining({ state: "installed", release: "13.0" }) }]);
    expect(record.createdAt).not.toBe("2026-01-01T00:00:00.000Z");
  });

  test("beforeInstall without room: no snapshot, a warning, the install goes on", async () => {
    const ictx = await snapshotsOn(true);
    const runner = lvm(SLOTS, 10 * MIB);
    const warnings: string[] = [];
    const log = { ...silent, warn: (m: string) => warnings.push(m) };
    await perform({ ...slotStepContext(ictx), run: runner, log }, beforeUpgradeEntries(ictx));
    expect(runner.calls.map((a) => a.join(" "))).toEqual([LVS, VGS]);
    expect(warnings).toEqual(["no before-upgrade snapshot of VA/root: it needs 0.40 GiB, volume group VA has 0.01 GiB free; the install goes on"]);
    expect(readSnapshotRecord(ictx.setup.bootMount, "before-upgrade")).toBeNull();
  });

  test("the plan shows them: the check in check-slot, the snapshot's commands in begin-install, what begin-install writes", async () => {
    const plan = installPlanLines(await snapshotsOn(true)).join("\n");
    expect(plan).toContain("check: LV VA/back of slot B has no snapshot (but before-upgrade, which this install replaces)");
    expect(plan).toContain(" 4. begin-install [writes a snapshot of slot A: LV VA/root.snap.before-upgrade and its record; writes the slot state on the shared boot partition]");
    expect(plan).toContain("+ lvm lvcreate --yes --snapshot --name root.snap.before-upgrade --size '<20% of VA/root, in bytes>' --addtag va.snapshot --addtag va.snapshot.before-upgrade VA/root");
  });
});
