// Boots a guest again and again: the load of "another QEMU guest booting beside the suite" (issue 12),
// and the instrument that counts how often a boot dies in the emulator.
//
//   bun test/load/boot-loop.ts                          the old appliance boots in a loop until Ctrl-C
//   bun test/load/boot-loop.ts --boots 40 --parallel 3  40 boots, 3 at a time; one line per boot, a table at the end
//   bun test/load/boot-loop.ts --disk artifacts/…/nvme-equal/disk.qcow2 --bus nvme
//                                                       boot a migrated disk (the new system) instead
//   --label TEXT --jsonl FILE                           append one JSON record per boot (for docs/QEMU.md)
//
// The emulator and guest CPU settings are the suite's (VA_QEMU, VA_SMP, VA_TCG_THREAD override them),
// so the same boots can be measured under each option. Every guest is powered off when the loop ends.

import { appendFileSync, mkdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildOldAppliance, OLD_MAC, oldApplianceOverlay } from "../assets/old-appliance.ts";
import { VmWaitError } from "../e2e/console-watch.ts";
import { type DiskBus, emulatorSettings, ENTROPY, killAllVms, startVm } from "../e2e/qemu.ts";

interface Boot {
  label: string;
  guest: string;
  outcome: "up" | "flake" | "fatal" | "stalled" | "other";
  detail: string;
  seconds: number;
  load: number;
  /** The guest's clocksource watchdog gave up on the TSC: the kernel then patches sched_clock's static key at run time. */
  tscMarkedUnstable: boolean;
}

/** The old appliance's hook says it looked for a command disk; the migrated system's probe says it is done. */
const UP = { old: /VA-TEST-HOOK: no VATESTCMD disk/, new: /VA-PROBE-END/ };
const QUIET_BOOT_SECONDS = 240;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      boots: { type: "string" },
      parallel: { type: "string", default: "1" },
      disk: { type: "string" },
      bus: { type: "string", default: "virtio" },
      label: { type: "string" },
      jsonl: { type: "string" },
      artifacts: { type: "string" },
    },
  });
  const boots = values.boots === undefined ? Number.POSITIVE_INFINITY : positive("--boots", values.boots);
  const parallel = positive("--parallel", values.parallel!);
  const bus = values.bus as DiskBus;
  if (!["virtio", "sata", "nvme"].includes(bus)) throw new Error(`--bus ${bus}: want virtio, sata or nvme`);
  const emulator = emulatorSettings();
  const label = values.label ?? `${emulator.binary} smp=${emulator.smp} thread=${emulator.thread}`;
  const guest = values.disk ? "new" : "old";
  const base = values.disk ? resolve(values.disk) : (await buildOldAppliance()).diskImage;
  const dir = resolve(values.artifacts ?? join("artifacts", `boot-loop-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  mkdirSync(dir, { recursive: true });
  console.log(`[boot-loop] ${guest === "new" ? `migrated disk ${base}` : "old appliance"} on ${bus}, ${label}, ${parallel} at a time; serial logs in ${dir}`);

  const results: Boot[] = [];
  let started = 0;
  const worker = async (slot: number) => {
    while (started < boots) {
      const n = started++;
      const boot = await bootOnce(n, slot, { base, bus, guest, dir, label });
      results.push(boot);
      console.log(`[boot-loop] boot ${n + 1}: ${boot.outcome} in ${boot.seconds.toFixed(0)} s (load ${boot.load.toFixed(2)})${boot.detail ? `: ${boot.detail}` : ""}`);
      if (values.jsonl) appendFileSync(values.jsonl, `${JSON.stringify(boot)}\n`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, (_, slot) => worker(slot)));
  printTable(label, results);
  return 0;
}

async function bootOnce(n: number, slot: number, o: { base: string; bus: DiskBus; guest: string; dir: string; label: string }): Promise<Boot> {
  const disk = join(o.dir, `slot-${slot}.qcow2`);
  await oldApplianceOverlay(disk, o.base);
  const vm = startVm({
    name: `boot-loop-${n + 1}`,
    disks: [{ path: disk, format: "qcow2", bus: o.bus }],
    nic: { mac: OLD_MAC },
    noReboot: true,
    serialLog: join(o.dir, `serial-${String(n + 1).padStart(3, "0")}.log`),
    extraArgs: ENTROPY,
  });
  const record = (outcome: Boot["outcome"], detail: string, seconds: number): Boot => ({
    label: o.label,
    guest: o.guest,
    outcome,
    detail,
    seconds,
    load: loadavg()[0]!,
    tscMarkedUnstable: /Marking clocksource 'tsc' as unstable/.test(vm.log()),
  });
  try {
    const up = await vm.waitFor(UP[o.guest as "old" | "new"], QUIET_BOOT_SECONDS);
    return record("up", "", up.seconds);
  } catch (error) {
    const seconds = (Date.now() - vm.startedAt) / 1000;
    if (!(error instanceof VmWaitError)) return record("other", (error as Error).message.split("\n")[0]!, seconds);
    const first = error.message.split("\n")[0]!;
    if (error.flake) return record("flake", `${error.flake.signature}: ${first}`, seconds);
    return record(error.reason === "stalled" ? "stalled" : error.reason === "fatal console event" ? "fatal" : "other", first, seconds);
  } finally {
    await vm.kill();
    rmSync(disk, { force: true });
  }
}

function printTable(label: string, results: Boot[]): void {
  const count = (outcome: Boot["outcome"]) => results.filter((b) => b.outcome === outcome).length;
  const up = results.filter((b) => b.outcome === "up").map((b) => b.seconds).sort((a, b) => a - b);
  const median = up.length ? up[Math.floor(up.length / 2)]! : Number.NaN;
  const tsc = results.filter((b) => b.tscMarkedUnstable).length;
  console.log("\n| settings | boots | up | emulator flake | other fatal | stalled | TSC marked unstable | median s to up |");
  console.log("|---|---|---|---|---|---|---|---|");
  console.log(`| ${label} | ${results.length} | ${count("up")} | ${count("flake")} | ${count("fatal")} | ${count("stalled")} | ${tsc} | ${median.toFixed(0)} |`);
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} ${text}: want a whole number of at least 1`);
  return value;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    async (error) => {
      console.error(`[boot-loop] ERROR: ${(error as Error).message}`);
      await killAllVms();
      process.exit(1);
    },
  );
}
