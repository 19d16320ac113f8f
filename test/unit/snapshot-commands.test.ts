import { rejection as refusal } from "./fixtures/refusal.ts";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { snapshotCommand, parseSnapshotArgs, type SnapshotCliDeps } from "../../agent/cli/snapshot.ts";
import { ExitCode, SnapshotError, UsageError } from "../../agent/errors/errors.ts";
import { silentLog } from "../../agent/log/logger.ts";
import type { SnapshotsSpec } from "../../agent/manifest/manifest.ts";
import { pendingRescueTask } from "../../agent/rescue/rescue-task.ts";
import { slotLayoutRecord } from "../../agent/slots/slot-layout.ts";
import { fileSlotStore } from "../../agent/slots/slot-store.ts";
import { withSlotRecord } from "../../agent/slots/slot-metadata.ts";
import { readFactoryRecord } from "../../agent/snapshots/factory-point.ts";
import { completePendingMerge } from "../../agent/snapshots/pending-merge.ts";
import { readSnapshotRecord, writeSnapshotRecord } from "../../agent/snapshots/records.ts";
import { FakeRunner } from "./fake-runner.ts";
import { bootDirWith, env, installed, metadata, migratedBox, NOW } from "./slot-fixture.ts";

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const SETTINGS: SnapshotsSpec = { reserve: "4GiB", cowPercent: 20, extendAtPercent: 70, factoryLv: "factory", beforeInstall: false };
const LVS = "lvm lvs --reportformat json --units b --nosuffix --all --options lv_name,vg_name,lv_uuid,lv_path,lv_size,origin,snap_percent,lv_attr,lv_tags,lv_time VA";
const VGS = "lvm vgs --reportformat json --units b --nosuffix --options vg_free,vg_extent_size VA";

interface Lv {
  name: string;
  size: number;
  attr?: string;
  origin?: string;
  snapPercent?: number;
  tags?: string[];
  path?: string;
}

/** The VG as lvs reports it, changed by the commands the fake runs (lvcreate adds, lvremove and a merge remove). */
class Vg {
  constructor(
    public lvs: Lv[],
    public freeBytes: number,
  ) {}
  lvsJson(): string {
    const row = (lv: Lv) => ({
      lv_name: lv.name,
      vg_name: "VA",
      lv_uuid: `uuid-${lv.name}`,
      lv_path: lv.path ?? `/dev/VA/${lv.name}`,
      lv_size: String(lv.size),
      origin: lv.origin ?? "",
      snap_percent: lv.snapPercent === undefined ? "" : lv.snapPercent.toFixed(2),
      lv_attr: lv.attr ?? (lv.origin ? "swi-a-s---" : "-wi-a-----"),
      lv_tags: (lv.tags ?? []).join(","),
      lv_time: "2026-11-30 10:00:00 +0000",
    });
    return JSON.stringify({ report: [{ lv: this.lvs.map(row) }] });
  }
  runner(): FakeRunner {
    return new FakeRunner().respond((argv) => {
      const text = argv.join(" ");
      if (text === LVS) return { stdout: this.lvsJson() };
      if (text === VGS) return { stdout: JSON.stringify({ report: [{ vg: [{ vg_free: String(this.freeBytes), vg_extent_size: String(4 * MIB) }] }] }) };
      if (argv[1] === "lvcreate") {
        const name = argv[argv.indexOf("--name") + 1]!;
        const size = Number(argv[argv.indexOf("--size") + 1]!.slice(0, -1));
        const tags = argv.flatMap((a, i) => (argv[i - 1] === "--addtag" ? [a] : []));
        this.lvs.push({ name, size, origin: argv.at(-1)!.split("/")[1]!, snapPercent: 0, tags, ...(this.snapshotPath ? { path: this.snapshotPath } : {}) });
        this.freeBytes -= size;
      }
      if (argv[1] === "lvremove" || (argv[1] === "lvconvert" && argv.includes("--merge"))) this.lvs = this.lvs.filter((lv) => `VA/${lv.name}` !== argv.at(-1));
      if (argv[1] === "lvpoll") this.lvs = this.lvs.filter((lv) => !(lv.origin && `VA/${lv.origin}` === argv.at(-1)));
      return undefined;
    });
  }
  /** Where a snapshot made by lvcreate is readable (the factory point copies from it). */
  snapshotPath?: string;
}

function slotLvs(extra: Lv[] = []): Lv[] {
  return [
    { name: "root", size: 2 * GIB, attr: "-wi-ao----" },
    { name: "back", size: 2 * GIB },
    { name: "data", size: 8 * GIB, attr: "-wi-ao----" },
    { name: "factory", size: 2 * GIB },
    ...extra,
  ];
}

const snap = (name: string, origin: string, extra: Partial<Lv> = {}): Lv => ({ name: `${origin}.snap.${name}`, size: 412 * MIB, origin, snapPercent: 10, tags: ["va.snapshot", `va.snapshot.${name}`], ...extra });

function box(options: { vg?: Vg; settings?: SnapshotsSpec | null; cmdline?: string; boot?: string } = {}) {
  const root = mkdtempSync(join(tmpdir(), "va-snapshot-root-"));
  mkdirSync(join(root, "etc/va-agent"), { recursive: true });
  const settings = options.settings === undefined ? SETTINGS : options.settings;
  writeFileSync(join(root, "etc/va-agent/slot-layout.json"), slotLayoutRecord({ vg: "VA", slots: { A: "root", B: "back" }, carryOver: { accounts: [], paths: [], network: true }, ...(settings ? { snapshots: settings } : {}) }));
  const boot = options.boot ?? bootDirWith(migratedBox());
  const vg = options.vg ?? new Vg(slotLvs(), 4 * GIB);
  const run = vg.runner();
  const out: string[] = [];
  const warnings: string[] = [];
  const deps: SnapshotCliDeps = { runner: () => run, log: silentLog, cmdline: () => options.cmdline ?? "root=/dev/mapper/VA-root ro va.slot=A", now: () => new Date(NOW), root, write: (t) => out.push(t), warn: (t) => warnings.push(t) };
  return { root, boot, vg, run, out, warnings, text: () => out.join(""), commands: () => run.calls.map((argv) => argv.join(" ")), snapshot: (...argv: string[]) => snapshotCommand([...argv, "--boot-dir", boot], deps) };
}


describe("snapshot create", () => {
  test("the booted slot by default: one lvcreate with the COW size and both tags, then the record with slot A's state", async () => {
    const b = box();
    expect(await b.snapshot("create", "before-update")).toBe(0);
    expect(b.commands()).toEqual([LVS, VGS, "lvm lvcreate --yes --snapshot --name root.snap.before-update --size 432013312b --addtag va.snapshot --addtag va.snapshot.before-update VA/root"]);
    const record = readSnapshotRecord(b.boot, "before-update")!;
    expect(record).toMatchObject({ format: 1, name: "before-update", vg: "VA", createdAt: NOW, origins: [{ lv: "root", snapshotLv: "root.snap.before-update", slot: "A", slotState: { state: "installed", release: "13.0" } }] });
    expect(b.text()).toBe("snapshot before-update taken: VA/root.snap.before-update (0.40 GiB of COW)\n");
  });

  test("--lv for several LVs, /data among them: one NAME, no slot state for /data", async () => {
    const b = box();
    expect(await b.snapshot("create", "both", "--lv", "root", "--lv", "data")).toBe(0);
    expect(b.commands().slice(2)).toEqual([
      "lvm lvcreate --yes --snapshot --name root.snap.both --size 432013312b --addtag va.snapshot --addtag va.snapshot.both VA/root",
      "lvm lvcreate --yes --snapshot --name data.snap.both --size 1719664640b --addtag va.snapshot --addtag va.snapshot.both VA/data",
    ]);
    expect(readSnapshotRecord(b.boot, "both")!.origins.map((o) => [o.lv, o.slot])).toEqual([["root", "A"], ["data", null]]);
  });

  test("--dry-run prints every command and runs only lvs and vgs", async () => {
    const b = box();
    expect(await b.snapshot("create", "x", "--dry-run")).toBe(0);
    expect(b.text()).toContain("+ lvm lvcreate --yes --snapshot --name root.snap.x --size 432013312b --addtag va.snapshot --addtag va.snapshot.x VA/root");
    expect(b.text()).toContain("write ");
    expect(b.commands()).toEqual([LVS, VGS]);
    expect(readSnapshotRecord(b.boot, "x")).toBeNull();
  });

  const refusals: [string, () => ReturnType<typeof box>, string[], string, string][] = [
    ["an invalid name", () => box(), ["create", "bad/name"], "invalid-name", 'is not a snapshot name'],
    ["a name too long", () => box(), ["create", "a".repeat(33)], "invalid-name", "1 to 32 characters"],
    ["the reserved name factory", () => box(), ["create", "factory"], "reserved-name", "is reserved"],
    ["a name that exists", () => box({ vg: new Vg(slotLvs([snap("old", "root")]), 4 * GIB) }), ["create", "old"], "exists", "a snapshot named old exists already"],
    ["no room in the VG", () => box({ vg: new Vg(slotLvs(), 100 * MIB) }), ["create", "x"], "no-room", "no room for snapshot x: it needs 432013312 bytes (0.40 GiB: 20% of root 2.00 GiB), volume group VA has 104857600 bytes (0.10 GiB) free"],
    ["an unknown LV", () => box(), ["create", "x", "--lv", "nope"], "unknown-lv", "volume group VA has no such LV"],
    ["the factory LV", () => box(), ["create", "x", "--lv", "factory"], "factory-lv", "it is the factory image"],
    ["snapshots not turned on", () => box({ settings: null }), ["create", "x"], "snapshots-off", "snapshots are not turned on on this box"],
  ];
  for (const [what, make, argv, name, message] of refusals) {
    test(`refused: ${what} (exit 18, details.refusal ${name}), nothing written`, async () => {
      const b = make();
      const error = await refusal(b.snapshot(...argv));
      expect(error).toBeInstanceOf(SnapshotError);
      expect(error.exitCode).toBe(ExitCode.snapshot);
      expect(error.details.refusal).toBe(name);
      expect(error.message).toContain(message);
      expect(error.hint).toContain("nothing was changed");
      expect(b.run.calls.every((argv) => argv[1] === "lvs" || argv[1] === "vgs")).toBe(true);
      expect(readSnapshotRecord(b.boot, /^[\w.+-]{1,32}$/.test(argv[1]!) ? argv[1]! : "x")?.createdAt ?? null).toBeNull();
    });
  }

  test("--json refusal: the error with its refusal name", async () => {
    const b = box({ vg: new Vg(slotLvs(), 0) });
    expect(await b.snapshot("create", "x", "--json")).toBe(18);
    expect(JSON.parse(b.text())).toMatchObject({ ok: false, command: "create", error: { kind: "snapshot", exitCode: 18, details: { refusal: "no-room" } } });
  });

  test("not booted through the slot menu and no --lv: a usage refusal naming --lv", async () => {
    const error = await refusal(box({ cmdline: "va.mode=rescue" }).snapshot("create", "x"));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.hint).toContain("--lv root");
  });
});

describe("snapshot list", () => {
  test("origin, COW size, use, invalid, merging, boot coverage, record", async () => {
    const vg = new Vg(slotLvs([snap("a", "root", { snapPercent: 12.5 }), snap("a", "data", { attr: "swi-a-s---", snapPercent: 3 }), snap("bad", "back", { attr: "swi-I-s---" })]), GIB);
    const b = box({ vg });
    writeSnapshotRecord(b.boot, { format: 1, name: "a", vg: "VA", createdAt: "2026-11-30T10:00:00.000Z", origins: [] });
    expect(await b.snapshot("list")).toBe(0);
    expect(b.text()).toBe(
      [
        "a: taken 2026-11-30T10:00:00.000Z",
        "  root.snap.a: of root (slot A), COW 0.40 GiB, 12.50% used; boot: in the slot",
        "  data.snap.a: of data, COW 0.40 GiB, 3.00% used; boot: not covered",
        "bad: taken 2026-11-30 10:00:00 +0000; no record (the slot state is not restored by a merge)",
        "  back.snap.bad: of back (slot B), COW 0.40 GiB, INVALID (its COW overflowed: only delete removes it); boot: in the slot",
        "",
      ].join("\n"),
    );
    const j = box({ vg });
    await j.snapshot("list", "--json");
    expect(JSON.parse(j.text()).snapshots[1]).toMatchObject({ name: "bad", record: false, volumes: [{ lv: "back.snap.bad", origin: "back", slot: "B", invalid: true, merging: false, boot: "in the slot" }] });
  });
});

describe("snapshot delete", () => {
  test("each LV of the NAME (an invalid one too), then the record", async () => {
    const b = box({ vg: new Vg(slotLvs([snap("a", "root"), snap("a", "data", { attr: "swi-I-s---" })]), GIB) });
    writeSnapshotRecord(b.boot, { format: 1, name: "a", vg: "VA", createdAt: NOW, origins: [] });
    expect(await b.snapshot("delete", "a")).toBe(0);
    expect(b.commands()).toEqual([LVS, VGS, "lvm lvremove --yes VA/root.snap.a", "lvm lvremove --yes VA/data.snap.a"]);
    expect(readSnapshotRecord(b.boot, "a")).toBeNull();
  });

  test("refused: unknown, and a merging one", async () => {
    expect((await refusal(box().snapshot("delete", "nope"))).details.refusal).toBe("unknown");
    const merging = box({ vg: new Vg(slotLvs([snap("m", "root", { attr: "Swi-a-s---" })]), GIB) });
    const error = await refusal(merging.snapshot("delete", "m"));
    expect(error.details.refusal).toBe("merging");
    expect(merging.commands()).toEqual([LVS, VGS]);
  });
});

describe("snapshot merge", () => {
  test("origin not open (slot B's LV): lvconvert --merge now, then lvs shows it gone, slot B's state put back, the record removed", async () => {
    const boot = bootDirWith({ env: env("A B", { A: [true, 0], B: [false, 0] }), metadata: withSlotRecord(metadata({ A: installed("va-demo", "14.0") }), "B", { state: "installed", product: "va-demo", release: "13.0", badReason: "did not come up in 3 tries" }) });
    const b = box({ boot, vg: new Vg(slotLvs([snap("good", "back")]), GIB) });
    writeSnapshotRecord(boot, { format: 1, name: "good", vg: "VA", createdAt: NOW, origins: [{ lv: "back", snapshotLv: "back.snap.good", slot: "B", slotState: { ...metadata({}).slots.B, state: "installed", product: "va-demo", release: "13.0", committedAt: NOW } }] });
    expect(await b.snapshot("merge", "good")).toBe(0);
    expect(b.commands()).toEqual([LVS, VGS, "lvm lvconvert --merge --interval 5 VA/back.snap.good", LVS]);
    const after = fileSlotStore(boot).read();
    expect([after.env.ok.B, after.env.tries.B, after.env.order]).toEqual([true, 0, ["A", "B"]]);
    expect(after.metadata.slots.B).toMatchObject({ release: "13.0", committedAt: NOW, badReason: null });
    expect(readSnapshotRecord(boot, "good")).toBeNull();
    expect(b.text()).toBe("snapshot good merged into VA/back\n");
  });

  test("an inactive origin is activated first (its merge would wait for the next activation)", async () => {
    const b = box({ vg: new Vg([...slotLvs().filter((lv) => lv.name !== "back"), { name: "back", size: 2 * GIB, attr: "-wi-------" }, snap("x", "back")], GIB) });
    await b.snapshot("merge", "x");
    expect(b.commands().slice(2, 4)).toEqual(["lvm lvchange --activate y VA/back", "lvm lvconvert --merge --interval 5 VA/back.snap.x"]);
  });

  test("the booted slot (open): a rescue task, then reboot; --no-reboot leaves the reboot to the operator; no LVM change here", async () => {
    const b = box({ vg: new Vg(slotLvs([snap("pre", "root")]), GIB) });
    expect(await b.snapshot("merge", "pre")).toBe(0);
    expect(b.commands()).toEqual([LVS, VGS, "systemctl reboot"]);
    expect(pendingRescueTask(b.boot)).toEqual({ task: "merge", snapshot: "pre", requestedAt: NOW });
    expect(b.text()).toContain("rebooting into the rescue system");
    const n = box({ vg: new Vg(slotLvs([snap("pre", "root")]), GIB) });
    expect(await n.snapshot("merge", "pre", "--no-reboot", "--json")).toBe(0);
    expect(n.commands()).toEqual([LVS, VGS]);
    expect(JSON.parse(n.text())).toMatchObject({ ok: true, command: "merge", name: "pre", when: "rescue", reboot: false });
  });

  test("--dry-run of a merge into the booted slot names the task and the reboot, writes nothing", async () => {
    const b = box({ vg: new Vg(slotLvs([snap("pre", "root")]), GIB) });
    await b.snapshot("merge", "pre", "--dry-run");
    expect(b.text()).toContain("VA/root is in use: the rescue system merges it at the next boot");
    expect(b.text()).toContain("+ systemctl reboot");
    expect(pendingRescueTask(b.boot)).toBeNull();
  });

  test("refused: an invalid snapshot (only delete), an unknown one; nothing changed", async () => {
    const b = box({ vg: new Vg(slotLvs([snap("bad", "back", { attr: "swi-I-s---" })]), GIB) });
    const error = await refusal(b.snapshot("merge", "bad"));
    expect(error.details.refusal).toBe("invalid");
    expect(error.hint).toContain("va-agent snapshot delete bad");
    expect(b.commands()).toEqual([LVS, VGS]);
    expect((await refusal(box().snapshot("merge", "nope"))).details.refusal).toBe("unknown");
  });
});

describe("completePendingMerge (the rescue system's half)", () => {
  const record = (boot: string) =>
    writeSnapshotRecord(boot, { format: 1, name: "pre", vg: "VA", createdAt: NOW, origins: [{ lv: "root", snapshotLv: "root.snap.pre", slot: "A", slotState: { ...metadata({}).slots.A, lv: "root", state: "installed", product: "va-demo", release: "13.0" } }] });

  test("not merging yet: lvconvert --merge; the slot state put back; run again (a power cut before the task was cleared): nothing to do", async () => {
    const boot = bootDirWith({ ...migratedBox(), env: env("A B", { A: [true, 2], B: [false, 0] }) });
    record(boot);
    const vg = new Vg(slotLvs([snap("pre", "root")]).map((lv) => ({ ...lv, attr: lv.attr?.replace("o", "-") })), GIB);
    const run = vg.runner();
    await completePendingMerge({ run, log: silentLog(), bootMount: boot, vg: "VA" }, { task: "merge", snapshot: "pre" });
    expect(run.calls.map((a) => a.join(" "))).toEqual([LVS, "lvm lvconvert --merge --interval 5 VA/root.snap.pre", LVS]);
    expect(fileSlotStore(boot).read().env.tries.A).toBe(0);
    expect(readSnapshotRecord(boot, "pre")).toBeNull();
    await completePendingMerge({ run, log: silentLog(), bootMount: boot, vg: "VA" }, { task: "merge", snapshot: "pre" });
    expect(run.calls.map((a) => a.join(" ")).slice(3)).toEqual([LVS]);
  });

  test("merging already (cut mid-merge, or deferred): lvconvert would refuse it, so refresh the origin and wait with lvpoll", async () => {
    const boot = bootDirWith(migratedBox());
    record(boot);
    const vg = new Vg([{ name: "root", size: 2 * GIB, attr: "Owi-a-s---" }, snap("pre", "root", { attr: "Swi-a-s---", snapPercent: 4 })], GIB);
    const run = vg.runner();
    await completePendingMerge({ run, log: silentLog(), bootMount: boot, vg: "VA" }, { task: "merge", snapshot: "pre" });
    expect(run.calls.map((a) => a.join(" "))).toEqual([LVS, "lvm lvchange --refresh VA/root", "lvm lvpoll --polloperation merge --interval 5 VA/root", LVS]);
    expect(readSnapshotRecord(boot, "pre")).toBeNull();
  });

  test("LVs gone but the record left (cut after the merge): only the slot state and the record", async () => {
    const boot = bootDirWith({ ...migratedBox(), env: env("A B", { A: [false, 3], B: [false, 0] }) });
    record(boot);
    const run = new Vg(slotLvs(), GIB).runner();
    await completePendingMerge({ run, log: silentLog(), bootMount: boot, vg: "VA" }, { task: "merge", snapshot: "pre" });
    expect(run.calls.map((a) => a.join(" "))).toEqual([LVS, LVS]);
    expect(fileSlotStore(boot).read().env).toMatchObject({ ok: { A: true }, tries: { A: 0 } });
  });

  test("a merge that did not finish (lvs still lists it) is an error that says to run again", async () => {
    const boot = bootDirWith(migratedBox());
    const vg = new Vg(slotLvs([snap("pre", "data", { attr: "Swi-a-s---" })]), GIB);
    const run = new FakeRunner().respond((argv) => (argv[1] === "lvs" ? { stdout: vg.lvsJson() } : undefined));
    await expect(completePendingMerge({ run, log: silentLog(), bootMount: boot, vg: "VA" }, { task: "merge", snapshot: "pre" })).rejects.toThrow("the merge of pre did not finish");
  });
});

describe("snapshot watch", () => {
  test("above extendAtPercent: lvextend by cowPercent of the origin; no room for the next: a warning with the % and what to do; invalid: a warning", async () => {
    const vg = new Vg(slotLvs([snap("a", "root", { snapPercent: 71 }), snap("a", "data", { snapPercent: 90 }), snap("b", "back", { snapPercent: 69 }), snap("c", "back", { attr: "swi-I-s---" })]), 500 * MIB);
    const b = box({ vg });
    expect(await b.snapshot("watch")).toBe(0);
    expect(b.commands()).toEqual([LVS, VGS, "lvm lvextend --yes --size +432013312b VA/root.snap.a"]);
    expect(b.warnings.join("")).toContain("snapshot a: VA/data.snap.a is 90.00% full and volume group VA has 0.09 GiB free, not the 1.60 GiB to extend it: at 100% it becomes invalid");
    expect(b.warnings.join("")).toContain("snapshot c: VA/back.snap.c is INVALID");
    expect(b.text()).toBe("extended VA/root.snap.a (71.00% full) by 0.40 GiB\n");
  });

  test("a box without snapshot settings: nothing to watch, exit 0 (the timer must not fail)", async () => {
    const b = box({ settings: null });
    expect(await b.snapshot("watch")).toBe(0);
    expect(b.text()).toContain("nothing to watch");
  });
});

describe("snapshot factory-record", () => {
  function factoryBox(extra: Lv[] = []) {
    const dir = mkdtempSync(join(tmpdir(), "va-factory-"));
    const source = join(dir, "root-snapshot.img");
    const image = join(dir, "factory.img");
    const bytes = Buffer.alloc(3 * MIB + 123, 7);
    writeFileSync(source, bytes);
    writeFileSync(image, "");
    const vg = new Vg([{ name: "root", size: bytes.length, attr: "-wi-ao----" }, { name: "back", size: bytes.length }, { name: "factory", size: bytes.length, path: image }, ...extra], GIB);
    vg.snapshotPath = source;
    return { b: box({ vg }), image, bytes };
  }

  test("temp snapshot, copy with SHA-256, temp removed, the image read-only, skipped at activation, inactive, then factory.json", async () => {
    const { b, image, bytes } = factoryBox();
    expect(await b.snapshot("factory-record")).toBe(0);
    const size = bytes.length;
    expect(b.commands()).toEqual([
      LVS,
      VGS,
      `lvm lvcreate --yes --snapshot --name root.snap.va-factory-src --size ${4 * MIB}b VA/root`,
      LVS,
      LVS,
      "lvm lvremove --yes VA/root.snap.va-factory-src",
      "lvm lvchange --permission r --setactivationskip y VA/factory",
      "lvm lvchange --activate n VA/factory",
    ]);
    expect(readFileSync(image).equals(bytes)).toBe(true);
    const sha256 = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    expect(readFactoryRecord(b.boot)).toEqual({ format: 1, product: "va-demo", release: "13.0", slot: "A", lv: "factory", originLv: "root", bytes: size, sha256, recordedAt: NOW });
    const again = box({ boot: b.boot });
    await again.snapshot("factory-record");
    expect(again.text()).toContain("the factory point is recorded already");
    expect(again.commands()).toEqual([LVS, VGS]);
  });

  test("an unfinished earlier run (temp left, image read-only and skipped): removed, writable, activated with -K, redone", async () => {
    const { b } = factoryBox([{ name: "root.snap.va-factory-src", size: 4 * MIB, origin: "root" }]);
    b.vg.lvs = b.vg.lvs.map((lv) => (lv.name === "factory" ? { ...lv, attr: "-ri------k" } : lv));
    await b.snapshot("factory-record");
    expect(b.commands().slice(2, 6)).toEqual([
      "lvm lvremove --yes VA/root.snap.va-factory-src",
      "lvm lvchange --permission rw VA/factory",
      "lvm lvchange --activate y --ignoreactivationskip VA/factory",
      `lvm lvcreate --yes --snapshot --name root.snap.va-factory-src --size ${4 * MIB}b VA/root`,
    ]);
  });

  test("no-ops with a message: booted slot B, no factory LV in the layout", async () => {
    const onB = box({ cmdline: "va.slot=B" });
    expect(await onB.snapshot("factory-record", "--json")).toBe(0);
    expect(JSON.parse(onB.text()).skipped).toContain("this is slot B");
    const none = box({ settings: { ...SETTINGS, factoryLv: undefined } as SnapshotsSpec });
    await none.snapshot("factory-record");
    expect(none.text()).toContain("names no factory LV");
    expect(none.commands()).toEqual([LVS, VGS]);
    expect(existsSync(join(none.boot, "va-agent/factory.json"))).toBe(false);
  });
});

describe("snapshot CLI arguments", () => {
  test("NAME required where it is, options per subcommand", () => {
    expect(() => parseSnapshotArgs(["merge"])).toThrow("needs the snapshot's NAME");
    expect(() => parseSnapshotArgs(["list", "--dry-run"])).toThrow("does not take --dry-run");
    expect(() => parseSnapshotArgs(["delete", "a", "--no-reboot"])).toThrow("does not take --no-reboot");
    expect(parseSnapshotArgs(["create", "a", "--lv", "root", "--lv=data"]).lvs).toEqual(["root", "data"]);
  });
});
