// Power loss at every step boundary and in the middle of the long steps of a real migration
// (issue 5): the VM is killed (SIGKILL to QEMU, no clean shutdown) when its console shows an
// injection point, then powered on again with the same disk.
//
// Expected, by where the cut lands (docs/RESUME.md):
//   before the point of no return      → the old system boots, unchanged (data files hashed there)
//   window A (wipe → resume entry)      → the staged boot code boots the tiny system, which resumes
//                                         from the staged files' sectors (docs/RESUME.md)
//   resume kit armed, new GRUB not yet  → the resume entry boots and the agent resumes from the store
//   new GRUB installed                  → the new system boots with the carried configuration
//
// To cover ~30 points twice in hours rather than days, cuts are chained: one disk takes a run of
// consecutive "old", "staged" and "resume" cuts in order (the old system re-arms the one-time entry
// and reboots after each pre-PONR cut; each resume is cut again at the next point), then goes on,
// uncut, to the new system. Every row of the table is a real power cut on a real disk; each chain's
// last row also proves that the migration, cut again and again, still ends in a correct new system.
//
//   bun test/e2e/fault-injection.ts [--only RUN ...] [--parallel N] [--repeat N]
//   bun test/e2e/fault-injection.ts --rebuild-initramfs --point 'mid rebuild-initramfs'   (single cuts)
//   bun test/e2e/fault-injection.ts --chain 'mid extract-rootfs..after arm-resume-boot' [--chain …]   (each chain once per --repeat)

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { MIGRATION_STEPS } from "../../agent/steps/index.ts";
import { buildNewOs } from "../assets/new-os.ts";
import { buildOldAppliance, makeCommandDisk, type OldAppliance, oldApplianceOverlay } from "../assets/old-appliance.ts";
import { buildSignedBundle, checkCarriedConfig, type SignedBundle, stageScript } from "./click-path.ts";
import { parseProbeFacts } from "./probe-facts.ts";
import { startVm, type Vm, waitExit, ENTROPY } from "./qemu.ts";
import { buildTinySystem, type TinySystem, vendorKeys } from "./tiny-system.ts";
import { describe, measureWindows } from "./windows.ts";

/** What must come up after a cut at this point. */
export type Expectation = "old" | "staged" | "resume" | "new";

export interface InjectionPoint {
  name: string;
  /** Console line at which the power is cut (after `delaySeconds`). */
  at: RegExp;
  delaySeconds?: number;
  expect: Expectation;
}

const STEP_NAMES = MIGRATION_STEPS.map((step) => step.name);
const RESUME_ENTRY = STEP_NAMES.indexOf("arm-resume-boot");
const NEW_GRUB = STEP_NAMES.indexOf("install-bootloader");
const POINT_OF_NO_RETURN = STEP_NAMES.indexOf("wipe-old-system");

/** What boots after a cut once step `index` is done (and the next has not written anything). */
function expectationAfter(index: number): Expectation {
  if (index < POINT_OF_NO_RETURN) return "old";
  if (index < RESUME_ENTRY) return "staged";
  if (index < NEW_GRUB) return "resume";
  return "new";
}

const MID_STEP_POINTS: InjectionPoint[] = [
  { name: "mid load-payload", at: /load-payload: loading va\.tar\.\w+: [3-6]\d%/, expect: "old" },
  { name: "mid persist-for-resume", at: /persist-for-resume: persisting va\.tar\.\w+: [3-6]\d%/, expect: "staged" },
  { name: "mid extract-rootfs", at: /extract-rootfs: extracting va\.tar\.\w+: [4-6]\d%/, expect: "resume" },
  // Only with --rebuild-initramfs (a bundle that asks for the rebuild; dracut runs minutes under TCG).
  { name: "mid rebuild-initramfs", at: /rebuild-initramfs: build the initramfs/, delaySeconds: 60, expect: "resume" },
  { name: "mid write-bootloader-config", at: /write-bootloader-config: generate/, delaySeconds: 12, expect: "resume" },
  { name: "mid install-bootloader", at: /install-bootloader: install GRUB/, delaySeconds: 1, expect: "resume" },
];

/** Every step boundary, in order, with the mid-step points slotted in before their step's end. */
export function injectionPoints(opts: { rebuildInitramfs?: boolean } = {}): InjectionPoint[] {
  const points: InjectionPoint[] = [{ name: "before load-payload", at: /migrating \/dev\/\S+; log:/, expect: "old" }];
  STEP_NAMES.forEach((step, index) => {
    if (step !== "rebuild-initramfs" || opts.rebuildInitramfs) points.push(...MID_STEP_POINTS.filter((p) => p.name === `mid ${step}`));
    points.push({ name: `after ${step}`, at: new RegExp(`${step}: done in`), expect: expectationAfter(index) });
  });
  return points;
}

export interface Run {
  name: string;
  /** Cuts in the order they happen on one disk; only the last may expect "new". */
  cuts: InjectionPoint[];
}

/**
 * The old, staged and resume points in `segments` consecutive chains (so they can run side by side),
 * each chain on its own disk and then on, uncut, to the new system; every point after which the new
 * system boots runs alone. `repeat` copies of each.
 */
export function schedule(points: InjectionPoint[], repeat: number, segments = 4): Run[] {
  const chained = points.filter((p) => p.expect !== "new");
  const tails = points.filter((p) => p.expect === "new");
  const size = Math.ceil(chained.length / Math.max(1, segments));
  const parts = Array.from({ length: Math.ceil(chained.length / size) }, (_, i) => chained.slice(i * size, (i + 1) * size));
  const copies = Array.from({ length: repeat }, (_, i) => i + 1);
  const chains = copies.flatMap((copy) => parts.map((cuts, i) => ({ name: `chain-${i + 1}-${copy}`, cuts })));
  const single = copies.flatMap((copy) => tails.map((tail) => ({ name: `${slug(tail.name)}-${copy}`, cuts: [tail] })));
  return [...chains, ...single]; // the longer chains first, so they do not finish last
}

/**
 * One chain through every point from `first` to `last` (default: the first "new" point after it),
 * on one disk; unless it ends with a "new" point the run then goes on, uncut, to the new system.
 */
export function chainFrom(points: InjectionPoint[], first: string, last?: string, copy = 1): Run {
  const index = (name: string) => {
    const at = points.findIndex((p) => p.name === name);
    if (at === -1) throw new Error(`no injection point named "${name}"`);
    return at;
  };
  const rest = points.slice(index(first));
  const end = last ? index(last) - index(first) : rest.findIndex((p) => p.expect === "new");
  if (end < 0) throw new Error(`"${last}" comes before "${first}"`);
  return { name: `chain-from-${slug(first)}-${copy}`, cuts: rest.slice(0, end + 1) };
}

/** One run per point and copy, each with that single cut (then, after a resume, to the end). */
export function alone(points: InjectionPoint[], repeat: number): Run[] {
  return points.flatMap((point) => Array.from({ length: repeat }, (_, i) => ({ name: `${slug(point.name)}-${i + 1}`, cuts: [point] })));
}

interface Row {
  point: string;
  run: string;
  expect: Expectation;
  outcome: string;
  ok: boolean;
  recoverSeconds: number | null;
}

/** What each kind of boot prints first (the old system's marker comes from the re-arm hook below). */
const CAME_UP = /VA-OLD-BOOTED|resuming from the store on \S+|resuming from the staged files on \S+|VA-PROBE-END|FAILED with exit code \d+[^\n]*|grub rescue>|grub> /;

/**
 * run.sh for the old system's hook, every boot: prove the old system is whole (its data files'
 * SHA-256, `va-agent status` reading the journal), then arm the migration entry once more and
 * reboot, as `va-agent stage --reboot` did the first time.
 */
const REARM_SCRIPT = stageScript(
  "echo VA-OLD-BOOTED",
  "find /srv/appdata -type f -exec sha256sum {} + | sed 's/^/VA-DATA /'",
  "va-agent status; echo \"VA-STATUS-EXIT $?\"",
  "grub-reboot 'va-agent migration' && sync && echo VA-REARMED",
  "(sleep 2; systemctl reboot) &",
);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: "string", multiple: true },
      point: { type: "string", multiple: true },
      chain: { type: "string", multiple: true },
      segments: { type: "string" },
      parallel: { type: "string" },
      repeat: { type: "string" },
      "rebuild-initramfs": { type: "boolean" },
    },
  });
  const rebuildInitramfs = values["rebuild-initramfs"] ?? false;
  const artifacts = resolve(process.env.VA_ARTIFACTS ?? join("artifacts", `faults-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  mkdirSync(artifacts, { recursive: true });
  const repeat = count("repeat", values.repeat, 2);
  const points = injectionPoints({ rebuildInitramfs });
  const chains = (values.chain ?? []).map((spec) => spec.split(".."));
  const runs = values.point || values.chain
    ? [
        ...Array.from({ length: repeat }, (_, i) => chains.map(([first, last]) => chainFrom(points, first!, last, i + 1))).flat(),
        ...alone(points.filter((p) => values.point?.includes(p.name)), repeat),
      ]
    : schedule(points, repeat, count("segments", values.segments, 4)).filter((r) => !values.only || values.only.some((w) => r.name.includes(w)));
  console.log(`[faults] ${runs.length} runs, ${runs.reduce((n, r) => n + r.cuts.length, 0)} power cuts; artifacts in ${artifacts}`);

  const newOs = await buildNewOs();
  const old = await buildOldAppliance();
  const tiny = buildTinySystem(newOs, join(artifacts, "tiny"), vendorKeys(join(artifacts, "vendor-keys")));
  const signed = buildSignedBundle(newOs, tiny, join(artifacts, "vendor"), { rebuildInitramfs });
  const staged = await stagedDisk(old, tiny, signed, artifacts);

  const rows: Row[] = [];
  const report = () => writeFileSync(join(artifacts, "table.md"), table(rows));
  // Each row is reported as soon as its cut is classified: a chain takes hours, and a run stopped
  // early still leaves its finished rows in table.md.
  const record = (row: Row) => {
    rows.push(row);
    console.log(`[faults] ${row.run}: ${row.point}: ${row.outcome} (${row.ok ? "as expected" : `WRONG, expected ${row.expect}`})`);
    report();
  };
  await inParallel(runs, count("parallel", values.parallel, 2), (run) => execute(run, staged, old, join(artifacts, run.name), record));
  rows.sort((a, b) => order(a.point) - order(b.point) || a.run.localeCompare(b.run));
  report();
  console.log(`\n${table(rows)}\n`);
  for (const line of windowsMeasured(artifacts, runs)) console.log(line);
  const bad = rows.filter((r) => !r.ok).length;
  console.log(`\nFAULT INJECTION SUMMARY: ${rows.length - bad} passed, ${bad} failed (${rows.length} power cuts); serial logs in ${artifacts}`);
  return bad === 0 ? 0 : 1;
}

function count(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`--${option} ${value}: give a whole number of 1 or more`);
  return Number(value);
}

/** Unsafe windows measured on every boot that went through one uncut. */
function windowsMeasured(artifacts: string, runs: Run[]): string[] {
  return runs.flatMap((run) => {
    const dir = join(artifacts, run.name);
    const logs = readdirSync(dir).filter((name) => /^serial-boot-\d+\.log$/.test(name));
    return logs.flatMap((name) => measureWindows(readFileSync(join(dir, name), "latin1")).map((m) => `${run.name}/${name}: ${describe(m)}`));
  });
}

const order = (point: string) => injectionPoints().findIndex((p) => p.name === point);

function table(rows: Row[]): string {
  const head = "| injection point | run | expected | outcome | as expected | seconds from cut to recovery |\n|---|---|---|---|---|---|";
  const lines = rows.map((r) => `| ${r.point} | ${r.run} | ${r.expect} | ${r.outcome} | ${r.ok ? "yes" : "**NO**"} | ${r.recoverSeconds === null ? "—" : r.recoverSeconds.toFixed(0)} |`);
  return [head, ...lines].join("\n");
}

/** The old appliance with the bundle staged by `va-agent stage` and the one-time entry armed, powered off. */
async function stagedDisk(old: OldAppliance, tiny: TinySystem, signed: SignedBundle, artifacts: string): Promise<string> {
  const dir = join(artifacts, "staged");
  mkdirSync(dir, { recursive: true });
  const disk = await oldApplianceOverlay(join(dir, "disk.qcow2"), old.diskImage);
  const commandDisk = await makeCommandDisk(join(dir, "command.img"), stageScript("va-agent stage bundle.tar"), {
    files: { "bundle.tar": signed.bundle, "va-agent": tiny.agent, "va-signing.pub": signed.publicKey },
    then: "poweroff",
  });
  const vm = bootDisk("stage", dir, [disk, commandDisk], old.facts.mac);
  await vm.waitFor(/staged va-demo/, 1800);
  await waitExit(vm, 300);
  return disk;
}

/** Runs one chain of cuts on a fresh copy of the staged disk; one row per cut. */
async function execute(run: Run, staged: string, old: OldAppliance, dir: string, record: (row: Row) => void): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const disk = join(dir, "disk.qcow2");
  Bun.spawnSync(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", staged, disk]);
  const commandDisk = await makeCommandDisk(join(dir, "command.img"), REARM_SCRIPT, { rerun: true });
  let last: Row | undefined;
  const add = (row: Row) => {
    last = row;
    record(row);
  };
  let boot = 0;
  let vm = bootDisk(`boot-${boot}`, dir, [disk, commandDisk], old.facts.mac);
  for (const planned of run.cuts) {
    let point = planned;
    try {
      await vm.waitFor(planned.at, 1800);
      if (planned.delaySeconds) await Bun.sleep(planned.delaySeconds * 1000);
      await vm.kill();
      const cutAt = Date.now();
      point = asLanded(planned, vm.log());
      vm = bootDisk(`boot-${++boot}`, dir, [disk, commandDisk], old.facts.mac);
      const row = await outcomeAfterCut(vm, point, old, cutAt);
      const landedLate = point !== planned ? " (the cut landed after the point of no return: its boot-sector write was faster than the kill)" : "";
      add({ point: planned.name, run: run.name, expect: point.expect, ...row, outcome: row.outcome + landedLate });
      if (!row.ok || point.expect === "new") break;
    } catch (error) {
      add({ point: planned.name, run: run.name, expect: point.expect, outcome: `harness: ${(error as Error).message.split("\n")[0]}`, ok: false, recoverSeconds: null });
      break;
    }
  }
  if (last?.ok && last.expect !== "new") add(await resumedRunEnds(vm, run, old));
  await vm.kill();
  if (!process.env.VA_KEEP_DISKS) rmSync(disk, { force: true }); // GBs per run; the serial logs are the evidence
}

/** wipe-old-system's line after its boot-sector write (the point of no return) went to the disk. */
const BOOT_SECTOR_SWITCHED = /boot sector of \S+ now starts the tiny system from the staged files/;

/**
 * The next step may start writing before the kill lands: a cut meant for "after write-staged-boot"
 * whose console already shows the boot-sector switch is a cut in window A, and must boot the staged
 * boot code, not the old system.
 */
export function asLanded(point: InjectionPoint, consoleBeforeCut: string): InjectionPoint {
  return point.expect === "old" && BOOT_SECTOR_SWITCHED.test(consoleBeforeCut) ? { ...point, expect: "staged" } : point;
}

/** A run whose last cut was not after the new boot loader: the migration must finish and the new system boot with the carried config. */
async function resumedRunEnds(vm: Vm, run: Run, old: OldAppliance): Promise<Row> {
  const base = { point: "end of run (no more cuts)", run: run.name, expect: "new" as const };
  try {
    await vm.waitFor(/VA-PROBE-END/, 2400);
    return { ...base, ...newSystemCarried(vm, old, true), recoverSeconds: null };
  } catch (error) {
    return { ...base, outcome: `harness: ${(error as Error).message.split("\n")[0]}`, ok: false, recoverSeconds: null };
  }
}

async function outcomeAfterCut(vm: Vm, point: InjectionPoint, old: OldAppliance, cutAt: number): Promise<Omit<Row, "point" | "run" | "expect">> {
  const seconds = () => (Date.now() - cutAt) / 1000;
  const wait = 1800;
  let seen: string;
  try {
    seen = (await vm.waitFor(CAME_UP, wait, { ignoreFatal: true })).match[0]; // panics are counted below, not fatal here
  } catch {
    const last = vm.tail(3).replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, "").trim().split("\n").pop() ?? "";
    return { outcome: `nothing booted within ${wait} s (console ends: "${last.slice(0, 60)}")`, ok: false, recoverSeconds: null };
  }
  const recoverSeconds = seconds();
  const panics = (vm.log().match(/Kernel panic - not syncing/g) ?? []).length;
  const note = panics ? ` (after ${panics} kernel panic${panics > 1 ? "s" : ""} of the emulated CPU, rebooted by panic=10)` : "";
  const row = await classify(vm, point, old, seen);
  return { ...row, outcome: row.outcome + note, recoverSeconds };
}

async function classify(vm: Vm, point: InjectionPoint, old: OldAppliance, seen: string): Promise<{ outcome: string; ok: boolean }> {
  if (seen === "VA-OLD-BOOTED") {
    const intact = await oldSystemIntact(vm, old);
    return { outcome: intact.outcome, ok: point.expect === "old" && intact.ok };
  }
  if (seen.startsWith("resuming from the store")) return { outcome: "resume entry booted; agent resumed from the store", ok: point.expect === "resume" };
  if (seen.startsWith("resuming from the staged files")) {
    return { outcome: "staged boot code booted; agent resumed from the staged files' sectors", ok: point.expect === "staged" };
  }
  if (seen === "VA-PROBE-END") {
    const carried = newSystemCarried(vm, old, order(point.name) >= order("after record-result"));
    return { outcome: carried.outcome, ok: point.expect === "new" && carried.ok };
  }
  return { outcome: `stuck: ${seen.trim()}`, ok: false };
}

async function oldSystemIntact(vm: Vm, old: OldAppliance): Promise<{ outcome: string; ok: boolean }> {
  await vm.waitFor(/VA-REARMED|VA-STATUS-EXIT \d+/, 300);
  const log = vm.log();
  const since = log.slice(log.lastIndexOf("VA-OLD-BOOTED"));
  const hashes = new Map([...since.matchAll(/VA-DATA ([0-9a-f]{64})\s+(\S+)/g)].map((m) => [m[2]!, m[1]!]));
  const changed = old.facts.dataFiles.filter((f) => hashes.get(f.path) !== f.sha256).map((f) => f.path);
  const statusReadable = /VA-STATUS-EXIT 0/.test(since);
  const outcome = `old system booted; ${changed.length ? `data CHANGED: ${changed.join(", ")}` : `${hashes.size} data files unchanged`}; va-agent status ${statusReadable ? "readable" : "FAILED"}`;
  return { outcome, ok: changed.length === 0 && statusReadable };
}

/** `resultRecorded`: record-result had finished before the cut, so result.json must be there. */
function newSystemCarried(vm: Vm, old: OldAppliance, resultRecorded: boolean): { outcome: string; ok: boolean } {
  const facts = parseProbeFacts(vm.log());
  const missing = checkCarriedConfig(facts, old.facts).filter((c) => !c.ok).map((c) => c.name);
  const outcome = facts.result && typeof facts.result === "object" ? (facts.result as { outcome?: string }).outcome : undefined;
  const resultOk = !resultRecorded || outcome === "migrated";
  return {
    outcome: `new system booted; ${missing.length ? `NOT carried: ${missing.join(", ")}` : "config carried"}; ${outcome ? `result ${outcome}` : `no result.json${resultRecorded ? " (LOST)" : " (not written yet)"}`}`,
    ok: missing.length === 0 && resultOk,
  };
}

function bootDisk(phase: string, dir: string, disks: string[], mac: string): Vm {
  return startVm({
    name: phase,
    disks: disks.map((path) => ({ path, format: path.endsWith(".qcow2") ? ("qcow2" as const) : ("raw" as const), bus: "virtio" as const })),
    nic: { mac },
    serialLog: join(dir, `serial-${phase}.log`),
    extraArgs: ENTROPY,
  });
}

async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.max(1, width) }, async () => {
    for (let item = queue.shift(); item; item = queue.shift()) await work(item);
  }));
}

const slug = (text: string) => text.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase();

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
