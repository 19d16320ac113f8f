import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rescueCommand, type RescueCliDeps } from "../../agent/cli/rescue.ts";
import { silentLog } from "../../agent/log/logger.ts";
import type { FactoryResetTools } from "../../agent/rescue/factory-reset.ts";
import type { RescueContext } from "../../agent/rescue/rescue-context.ts";
import type { FactoryRecord, SnapshotTools } from "../../agent/rescue/snapshot-tools.ts";
import { writeSlotMetadata } from "../../agent/slots/slot-metadata.ts";
import type { SlotState } from "../../agent/slots/slot-store.ts";
import { FakeRunner } from "./fake-runner.ts";
import { bootDirWith, NOW } from "./slot-fixture.ts";

export const GIB = 1024 ** 3;
export const RESCUE_CMDLINE = "console=ttyS0,115200 va.mode=rescue";

export const FACTORY: FactoryRecord = {
  format: 1,
  product: "va-demo",
  release: "13.0",
  slot: "A",
  lv: "factory",
  originLv: "root",
  bytes: 3 * GIB,
  sha256: "f".repeat(64),
  recordedAt: "2026-11-01T09:06:00.000Z",
};

export interface LvRow {
  name: string;
  size?: number;
  origin?: string;
  attr?: string;
  tags?: string[];
  snapPercent?: string;
}

/** `lvm lvs --reportformat json` of the VG VA. */
export function lvsJson(rows: LvRow[], vg = "VA"): string {
  const lv = rows.map((row) => ({
    lv_name: row.name,
    vg_name: vg,
    lv_uuid: `uuid-${row.name}`,
    lv_path: `/dev/${vg}/${row.name}`,
    lv_size: String(row.size ?? 4 * GIB),
    origin: row.origin ?? "",
    snap_percent: row.snapPercent ?? (row.origin ? "12.50" : ""),
    lv_attr: row.attr ?? (row.origin ? "swi-a-s---" : "-wi-a-----"),
    lv_tags: (row.tags ?? []).join(","),
    lv_time: "2026-12-01 20:35:00 +0000",
  }));
  return JSON.stringify({ report: [{ lv }] });
}

/** The VG of a migrated box with a factory point, a snapshot of slot A and one of /data. */
export function boxLvs(): LvRow[] {
  return [
    { name: "root" },
    { name: "back" },
    { name: "data", size: 8 * GIB },
    { name: "swap", size: GIB },
    { name: "factory", attr: "-ri------k" },
    { name: "root.snap.before", size: GIB, origin: "root", tags: ["va.snapshot", "va.snapshot.before"] },
    { name: "data.snap.before", size: GIB, origin: "data", tags: ["va.snapshot", "va.snapshot.before"] },
  ];
}

export const BLKID: Record<string, string> = {
  "/dev/mapper/VA-data": "DEVNAME=/dev/mapper/VA-data\nUUID=0d0d0d0d-1111-4222-8333-944445555666\nBLOCK_SIZE=4096\nTYPE=ext4\nLABEL=data\n",
  "/dev/mapper/VA-swap": "DEVNAME=/dev/mapper/VA-swap\nUUID=5a5a0000-1111-4222-8333-944445555666\nTYPE=swap\n",
};

/** A fake runner answering lvs (JSON) and blkid; `<...>` lines in its calls are the injected tools' work. */
export function rescueRunner(rows: LvRow[] = boxLvs(), blkid: Record<string, string> = BLKID): FakeRunner {
  return new FakeRunner()
    .respond((argv) => (argv[0] === "lvm" && argv[1] === "lvs" && argv.includes("--reportformat") ? { stdout: lvsJson(rows) } : undefined))
    .respond((argv) => (argv[0] === "blkid" ? (blkid[argv.at(-1)!] === undefined ? { status: 2 } : { stdout: blkid[argv.at(-1)!] }) : undefined));
}

export interface FakeTools extends SnapshotTools, FactoryResetTools {
  failCopy?: boolean;
  hashed?: string;
}

/** The snapshot helper's functions as fakes: each notes its work in the runner's timeline. */
export function fakeTools(run: FakeRunner, record: FactoryRecord | null = FACTORY, options: { hash?: string; failCopy?: boolean; failMerge?: boolean } = {}): FakeTools {
  return {
    readFactoryRecord: () => record,
    hashDevice: async (device, bytes) => {
      run.calls.push([`<hash ${device} ${bytes}>`]);
      return { sha256: options.hash ?? record!.sha256, bytes };
    },
    copyBlockDevice: async (from, to, { bytes, progress }) => {
      run.calls.push([`<copy ${from} ${to} ${bytes}>`]);
      if (options.failCopy) throw new Error("Input/output error reading the factory LV");
      progress?.(bytes, bytes);
      return { sha256: record!.sha256, bytes };
    },
    completePendingMerge: async (ctx, task) => {
      run.calls.push([`<merge ${ctx.vg} ${task.snapshot}>`]);
      if (options.failMerge) throw new Error("lvconvert: merge failed");
    },
  };
}

/** A shared boot partition (tmp dir) with the slot state and slots.json's VG "VA". */
export function rescueBootDir(state: SlotState, vg: string | null = "VA"): string {
  const dir = bootDirWith(state);
  writeSlotMetadata(dir, { ...state.metadata, vg });
  return dir;
}

export function rescueContext(bootMount: string, run: FakeRunner): RescueContext {
  return { run, log: silentLog(), bootMount, vg: "VA", now: () => NOW };
}

export function rescueCli(run: FakeRunner, tools: FakeTools, options: { cmdline?: string; answers?: (string | null)[]; installPaths?: RescueCliDeps["installPaths"]; installState?: RescueCliDeps["installState"] } = {}) {
  const out: string[] = [];
  const questions: string[] = [];
  const answers = [...(options.answers ?? [])];
  const deps: RescueCliDeps = {
    runner: () => run,
    log: silentLog,
    cmdline: () => options.cmdline ?? RESCUE_CMDLINE,
    now: () => new Date(NOW),
    write: (text) => out.push(text),
    ask: async (question) => {
      questions.push(question);
      return answers.length > 0 ? answers.shift()! : null;
    },
    tools,
    hashDevice: tools.hashDevice,
    installState: options.installState ?? (() => ({ beginInstall: () => {}, finishInstall: () => {} })),
    installPaths: options.installPaths ?? { mediaDir: mkdtempSync(join(tmpdir(), "va-rescue-media-")) },
  };
  return { out, questions, text: () => out.join(""), rescue: (...argv: string[]) => rescueCommand(argv, deps) };
}
