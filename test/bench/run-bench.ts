// Downtime benchmark: the agent against the FLOOR (a bare bash script doing the same disk work in
// the same tiny system, same VM). Prints a table and writes it to docs/BENCHMARK.md.
//
//   bun test/bench/run-bench.ts [--compression zstd|xz] [--runs N] [--bus virtio|sata|nvme]
//                               [--size-factor 3] [--rebuild-initramfs] [--force] [--no-docs]
//   bun test/bench/run-bench.ts --render artifacts/bench-…/measurements.json   table + page again, no VMs
//
// One VM at a time: TCG on 2 cores, a second VM makes every phase 1.5–2× slower. The script refuses
// to start while another qemu-system process runs (--force to run anyway; the page then says so).
// Artifacts (serial logs, floor script, disks) go to $VA_ARTIFACTS or ./artifacts/bench-<time>.

import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildNewOs } from "../assets/new-os.ts";
import { buildOldAppliance } from "../assets/old-appliance.ts";
import { run } from "../assets/host.ts";
import { signStagedPayload, writeTestPayload, type PayloadCompression } from "../e2e/payload.ts";
import { type DiskBus, startVm, waitExit, ENTROPY } from "../e2e/qemu.ts";
import { stagePayload, stepTimings } from "../e2e/scenario.ts";
import { buildTinySystem, vendorKeys } from "../e2e/tiny-system.ts";
import { TINY_CMDLINE } from "../../agent/bootloader/tiny-cmdline.ts";
import { buildFloorInitramfs, floorScript } from "./floor.ts";

const REPO = join(import.meta.dir, "../..");
const AGENT_STARTED = /\[va-agent [\d:]+\] va-agent \S+ \S+ started ([\d.]+) s after kernel start/;
const RUN_TIMEOUT_S = 45 * 60;
/** The floor script sleeps 1 s after its last line so the serial console drains before poweroff -f. */
const FLOOR_DRAIN_S = 1;

/** Agent steps ↔ floor phases, in order. Rows sum into the groups below. */
const ROWS: { label: string; floor: string[]; agent: string[] }[] = [
  { label: "probe + plan ↔ vgchange -ay", floor: ["activate-lvm"], agent: ["(prepare)"] },
  { label: "load-payload ↔ copy + hash (tee \\| sha256sum)", floor: ["copy-hash"], agent: ["load-payload"] },
  { label: "wipe-old-system ↔ wipe", floor: ["wipe"], agent: ["wipe-old-system"] },
  { label: "partition-disk ↔ partition", floor: ["partition"], agent: ["partition-disk"] },
  { label: "create-volumes ↔ pv/vg/lvcreate", floor: ["create-volumes"], agent: ["create-volumes"] },
  { label: "make-filesystems ↔ mkfs.ext4 ×4", floor: ["make-filesystems"], agent: ["make-resume-filesystems", "make-filesystems"] },
  { label: "mount-target ↔ mount", floor: ["mount"], agent: ["mount-target"] },
  { label: "extract-rootfs ↔ decompress \\| tar -x", floor: ["extract"], agent: ["extract-rootfs"] },
  { label: "fix-filesystem-uuids ↔ e2fsck + tune2fs", floor: ["fix-uuid"], agent: ["fix-filesystem-uuids"] },
  { label: "write-lvm-metadata ↔ vgcfgbackup (+ chroot binds)", floor: ["lvm-metadata", "chroot-binds"], agent: ["write-lvm-metadata"] },
  { label: "carry-over-config + apply-selinux-policy (floor: none)", floor: [], agent: ["carry-over-config", "apply-selinux-policy"] },
  { label: "install-bootloader ↔ chroot grub-install", floor: ["grub-install"], agent: ["install-bootloader"] },
  { label: "rebuild-initramfs ↔ chroot dracut", floor: ["initramfs"], agent: ["rebuild-initramfs"] },
  { label: "write-bootloader-config ↔ chroot grub-mkconfig", floor: ["grub-mkconfig"], agent: ["write-bootloader-config"] },
  { label: "record-result (floor: none)", floor: [], agent: ["record-result"] },
  { label: "unmount-target ↔ umount -R, vgchange -an, sync", floor: ["unmount"], agent: ["unmount-target"] },
];
const DISK_PREP = ["wipe-old-system ↔ wipe", "partition-disk ↔ partition", "create-volumes ↔ pv/vg/lvcreate", "make-filesystems ↔ mkfs.ext4 ×4"];

interface Measured {
  /** phase name → seconds */
  phases: Map<string, number>;
  /** kernel start → floor script start / agent's first log line */
  kernelToFirst: number;
  /** kernel start → QEMU exit (poweroff), measured on the host */
  total: number;
  otherQemu: boolean;
}

/** Between VMs (assets and staging take minutes; another engineer's VM may start meanwhile): wait for a quiet host. */
const QUIET_WAIT_MIN = 30;
async function waitQuiet(minutes: number, say: (line: string) => void): Promise<boolean> {
  const deadline = Date.now() + minutes * 60_000;
  for (let announced = false; ; announced = true) {
    const busy = otherQemus();
    if (busy.length === 0) return true;
    if (Date.now() >= deadline) return false;
    if (!announced) say(`another QEMU is running (${busy.length}); waiting up to ${minutes} min for a quiet host, polling every 30 s`);
    await new Promise((r) => setTimeout(r, 30_000));
  }
}

function otherQemus(): string[] {
  const p = spawnSync("pgrep", ["-a", "qemu-system"], { encoding: "utf8" });
  return p.stdout.split("\n").filter((l) => l.trim() && !l.startsWith(`${process.pid} `));
}

async function floorRun(name: string, disk: string, bus: DiskBus, kernel: string, initrd: string, dir: string): Promise<Measured> {
  const serialLog = join(dir, `serial-${name}.log`);
  const vm = startVm({ name, disks: [{ path: disk, format: "qcow2", bus }], kernel, initrd, append: `console=ttyS0,115200 ${TINY_CMDLINE} va.after=poweroff`, noReboot: true, serialLog, extraArgs: ENTROPY });
  let otherQemu = false;
  const first = await vm.waitFor(/FLOOR kernel-to-script ([\d.]+)/, 300);
  const kernelAt = first.seconds - Number(first.match[1]);
  otherQemu ||= otherQemus().some((l) => !l.includes(`-name ${name} `));
  const end = await vm.waitFor(/FLOOR-DONE|FLOOR-ERROR[^\n]*/, RUN_TIMEOUT_S);
  if (end.match[0] !== "FLOOR-DONE") {
    await vm.kill();
    throw new Error(`floor script failed: ${end.match[0]}\n${vm.tail(30)}`);
  }
  await waitExit(vm, 120);
  const total = (Date.now() - vm.startedAt) / 1000 - kernelAt - FLOOR_DRAIN_S;
  const phases = new Map<string, number>();
  for (const m of readFileSync(serialLog, "latin1").matchAll(/^FLOOR ([a-z-]+) ([\d.]+)\r?$/gm)) phases.set(m[1]!, Number(m[2]));
  // The agent's first line comes after its wrapper's `udevadm settle`: compare with the floor after its settle.
  return { phases, kernelToFirst: Number(first.match[1]) + (phases.get("udev-settle") ?? 0), total, otherQemu };
}

async function agentRun(name: string, disk: string, bus: DiskBus, kernel: string, initrd: string, dir: string): Promise<Measured> {
  const serialLog = join(dir, `serial-${name}.log`);
  const vm = startVm({ name, disks: [{ path: disk, format: "qcow2", bus }], kernel, initrd, append: `console=ttyS0,115200 ${TINY_CMDLINE} va.after=poweroff`, noReboot: true, serialLog, extraArgs: ENTROPY });
  const first = await vm.waitFor(AGENT_STARTED, 300);
  const kernelAt = first.seconds - Number(first.match[1]);
  const stepsBegin = await vm.waitFor(/\] load-payload: /, 600);
  const otherQemu = otherQemus().some((l) => !l.includes(`-name ${name} `));
  const finished = await vm.waitFor(/migration finished|FAILED with exit code \d+/, RUN_TIMEOUT_S);
  if (!finished.match[0].startsWith("migration finished")) {
    await vm.kill();
    throw new Error(`the agent failed:\n${vm.tail(30)}`);
  }
  await waitExit(vm, 180);
  const total = (Date.now() - vm.startedAt) / 1000 - kernelAt;
  const phases = new Map<string, number>(stepTimings(readFileSync(serialLog, "latin1")).map((t) => [t.phase.trim().replace(/^step /, ""), t.seconds]));
  // From the agent's first line to the first step's first line: probe (vgchange -ay, lsblk, mounts), manifest, plan.
  phases.set("(prepare)", stepsBegin.seconds - first.seconds);
  return { phases, kernelToFirst: Number(first.match[1]), total, otherQemu };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sum = (m: Measured, names: string[]) => names.reduce((acc, n) => acc + (m.phases.get(n) ?? 0), 0);
const f1 = (x: number) => (Number.isNaN(x) ? "—" : x.toFixed(1));
const d1 = (x: number) => (Number.isNaN(x) ? "—" : `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(1)}`);

function table(floors: Measured[], agents: Measured[]): string {
  const row = (label: string, fl: number, ag: number) => `| ${label} | ${f1(fl)} | ${f1(ag)} | ${d1(ag - fl)} |`;
  const out = ["| phase | floor s | agent s | agent − floor |", "|---|---:|---:|---:|"];
  out.push(row("kernel start → work begins (floor: script start + udevadm settle; agent: first log line)", median(floors.map((m) => m.kernelToFirst)), median(agents.map((m) => m.kernelToFirst))));
  for (const r of ROWS) out.push(row(r.label, median(floors.map((m) => sum(m, r.floor))), median(agents.map((m) => sum(m, r.agent)))));
  // Steps added to the agent after this table was written: their own rows, floor 0.
  const known = new Set(ROWS.flatMap((r) => r.agent));
  const extra = [...new Set(agents.flatMap((m) => [...m.phases.keys()]))].filter((n) => !known.has(n));
  for (const name of extra) out.push(row(`${name} (not mapped; floor: none)`, 0, median(agents.map((m) => m.phases.get(name) ?? 0))));
  const group = ROWS.filter((r) => DISK_PREP.includes(r.label));
  out.push(row("**disk prep** (wipe + partition + volumes + filesystems)", median(floors.map((m) => sum(m, group.flatMap((g) => g.floor)))), median(agents.map((m) => sum(m, group.flatMap((g) => g.agent))))));
  const all = (ms: Measured[], key: "floor" | "agent") => median(ms.map((m) => sum(m, [...ROWS.flatMap((r) => r[key]), ...(key === "agent" ? extra : [])])));
  out.push(row("**all phases after work begins** (sum)", all(floors, "floor"), all(agents, "agent")));
  out.push(row("**total in the tiny system** (kernel start → poweroff, host clock)", median(floors.map((m) => m.total)), median(agents.map((m) => m.total))));
  return out.join("\n");
}

/**
 * Downtime is measured on two vCPUs, as appliances have and as docs/BENCHMARK.md always was: one VM
 * at a time leaves no other guest to stretch the int3 window the suite avoids with one vCPU (docs/QEMU.md).
 */
const BENCH_SMP = "2";

async function main(): Promise<number> {
  process.env.VA_SMP ??= BENCH_SMP;
  const { values } = parseArgs({
    options: {
      compression: { type: "string", default: "zstd" },
      runs: { type: "string", default: "1" },
      bus: { type: "string", default: "virtio" },
      "size-factor": { type: "string", default: "3" },
      "rebuild-initramfs": { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      "no-docs": { type: "boolean", default: false },
      render: { type: "string" },
    },
  });
  const compression = values.compression as PayloadCompression;
  if (!["zstd", "xz"].includes(compression)) throw new Error("--compression must be zstd or xz");
  const bus = values.bus as DiskBus;
  if (!["virtio", "sata", "nvme"].includes(bus)) throw new Error("--bus must be virtio, sata or nvme");
  const runs = Number(values.runs);
  const sizeFactor = Number(values["size-factor"]);
  if (!(runs >= 1) || !(sizeFactor >= 1)) throw new Error("--runs and --size-factor must be ≥ 1");
  const say = (line: string) => console.log(`[bench] ${line}`);
  if (values.render) {
    render(JSON.parse(readFileSync(values.render, "utf8")) as SavedReport, !values["no-docs"], say);
    return 0;
  }

  const busy = otherQemus();
  if (busy.length > 0 && !values.force) {
    console.error(`[bench] refusing to start: another QEMU is running, and two VMs on this 2-core host make every phase 1.5–2× slower:\n${busy.map((l) => `  ${l.slice(0, 160)}`).join("\n")}\n[bench] wait until \`pgrep -a qemu-system\` is empty, or pass --force (the figures are then marked as taken with another VM running).`);
    return 3;
  }
  let forced = busy.length > 0;

  const artifacts = resolve(process.env.VA_ARTIFACTS ?? join(REPO, "artifacts", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  mkdirSync(artifacts, { recursive: true });
  say(`artifacts: ${artifacts}`);
  say("building or reusing assets (cache: $VA_CACHE or /var/cache/va-agent-test)");
  const newOs = await buildNewOs();
  const old = await buildOldAppliance();
  const tiny = buildTinySystem(newOs, join(artifacts, "tiny"), vendorKeys(join(artifacts, "vendor-keys")));
  say(`agent and tiny system built in ${tiny.seconds.toFixed(0)} s`);

  const rebuildInitramfs = values["rebuild-initramfs"]!;
  const payloadDir = join(artifacts, `staged-${compression}`);
  mkdirSync(payloadDir, { recursive: true });
  const payload = signStagedPayload(writeTestPayload(newOs, payloadDir, compression, { bootloader: { kind: "grub-bios", rebuildInitramfs } }), tiny.keys.privateKey);
  say(`staging the ${compression} payload on the old appliance (rebuildInitramfs=${rebuildInitramfs})`);
  const staged = await stagePayload(old, payload, payloadDir);
  const manifest = JSON.parse(readFileSync(payload.manifestPath, "utf8"));
  const diskBytes = newOs.layoutBytes * sizeFactor;

  const script = floorScript({
    bus,
    diskBytes,
    compression,
    manifest,
    layoutFile: newOs.sgdisk,
    oldVg: old.facts.disk.vg,
    oldRootDevice: old.facts.disk.rootDevice,
    oldRootFs: old.facts.disk.rootFs,
    oldPartitionCount: 2,
    kver: newOs.kver,
    stagingDir: "/etc/upd",
  });
  writeFileSync(join(artifacts, "floor.sh"), script);
  const floorInitrd = join(artifacts, "initramfs-floor.img");
  buildFloorInitramfs({ tinyInitramfs: tiny.initramfs, sysroot: newOs.rootDir, script, out: floorInitrd });
  say(`floor script: ${join(artifacts, "floor.sh")}; floor initramfs: ${floorInitrd}`);

  const floors: Measured[] = [];
  const agents: Measured[] = [];
  for (let i = 1; i <= runs; i++) {
    for (const kind of ["floor", "agent"] as const) {
      const name = `${kind}-${i}`;
      const disk = join(artifacts, `${name}.qcow2`);
      await run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", staged.disk, disk, String(diskBytes)]);
      if (!(await waitQuiet(values.force ? 0 : QUIET_WAIT_MIN, say))) {
        say(`WARNING: another QEMU is still running before ${name}; its figures are suspect`);
        forced = true;
      }
      say(`run ${i}/${runs}: ${kind} (${bus} disk ${sizeFactor}x the layout, ${compression} payload)`);
      const started = performance.now();
      const m = kind === "floor" ? await floorRun(name, disk, bus, tiny.kernel, floorInitrd, artifacts) : await agentRun(name, disk, bus, tiny.kernel, tiny.initramfs, artifacts);
      forced ||= m.otherQemu;
      (kind === "floor" ? floors : agents).push(m);
      say(`${kind} ${i}: ${((performance.now() - started) / 1000).toFixed(0)} s wall, ${m.total.toFixed(1)} s in the tiny system`);
      rmSync(disk, { force: true });
    }
  }

  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  const payloadFile = compression === "zstd" ? newOs.payloadZst : newOs.payloadXz;
  const mib = (statSync(payloadFile).size / 1024 ** 2).toFixed(1);
  const qemuVersion = spawnSync("qemu-system-x86_64", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]?.trim() ?? "";
  const facts = [
    `- date: ${new Date().toISOString()}`,
    `- host: ${cpus().length} CPUs (nproc), CPU model \`${cpuModel}\`; ${qemuVersion}, TCG (\`-accel tcg,thread=multi -cpu Nehalem -smp 2 -m 2048\`)`,
    `- disk: ${bus}, ${(diskBytes / 1024 ** 3).toFixed(0)} GiB (${sizeFactor}× the 6 GiB layout: ${sizeFactor > 1 ? "backup GPT header moved, LVM partition grown" : "no grow"}), qcow2 overlay on the staged old appliance, fresh per run`,
    `- payload: ${compression}, ${mib} MiB (\`${payloadFile.split("/").pop()}\`); bootloader.rebuildInitramfs=${rebuildInitramfs}${rebuildInitramfs ? " (both runs run dracut in the chroot)" : " (both runs skip dracut: the payload ships a generic initramfs)"}`,
    `- runs: ${runs} floor + ${runs} agent, alternating; figures are medians`,
    forced ? "- **another QEMU was running during the measurement (--force or it appeared mid-run): figures are inflated and noisy**" : "- no other QEMU was running during the measurement",
  ];
  const command = `bun test/bench/run-bench.ts --compression ${compression} --runs ${runs}${bus !== "virtio" ? ` --bus ${bus}` : ""}${sizeFactor !== 3 ? ` --size-factor ${sizeFactor}` : ""}${rebuildInitramfs ? " --rebuild-initramfs" : ""}${forced && values.force ? " --force" : ""}`;
  const report: SavedReport = { command, facts, floors: floors.map(saveMeasured), agents: agents.map(saveMeasured) };
  writeFileSync(join(artifacts, "measurements.json"), `${JSON.stringify(report, null, 2)}\n`);
  say(`measurements: ${join(artifacts, "measurements.json")} (re-render with --render)`);
  render(report, !values["no-docs"], say);
  return 0;
}

/** What a run measured, as JSON: `--render FILE` rebuilds the table and the page from it without VMs. */
interface SavedReport {
  command: string;
  facts: string[];
  floors: SavedMeasured[];
  agents: SavedMeasured[];
}
type SavedMeasured = Omit<Measured, "phases"> & { phases: Record<string, number> };
const saveMeasured = (m: Measured): SavedMeasured => ({ ...m, phases: Object.fromEntries(m.phases) });
const loadMeasured = (m: SavedMeasured): Measured => ({ ...m, phases: new Map(Object.entries(m.phases)) });

function render(report: SavedReport, writeDocs: boolean, say: (line: string) => void): void {
  const body = table(report.floors.map(loadMeasured), report.agents.map(loadMeasured));
  console.log(`\n${body}\n\n${report.facts.join("\n")}`);
  if (writeDocs) {
    writeFileSync(join(REPO, "docs/BENCHMARK.md"), benchmarkPage(body, report.facts, report.command));
    say("wrote docs/BENCHMARK.md");
  }
}

function benchmarkPage(table: string, facts: string[], command: string): string {
  return `# Downtime benchmark: agent vs floor

The speed rule: downtime (time in the tiny system) is measured against a **floor** — a bare bash
script doing the same disk work with plain commands, in the same VM (same kernel, same tiny-system
initramfs, same disk variant, RAM and CPUs). "agent − floor" is what the agent itself costs.

## How to run

\`\`\`sh
bun test/bench/run-bench.ts [--compression zstd|xz] [--runs N] [--bus virtio|sata|nvme] \\
    [--size-factor 3] [--rebuild-initramfs] [--force] [--no-docs]
bun test/bench/run-bench.ts --render artifacts/bench-<time>/measurements.json   # table and page again, no VMs
\`\`\`

Exit status 3 (nothing done) when another \`qemu-system\` process is running and \`--force\` is not given.

It builds or reuses the e2e assets (\`buildNewOs\`, \`buildOldAppliance\`, \`buildTinySystem\`), stages
the test payload on the old appliance (\`writeTestPayload\` + \`stagePayload\`), then boots per run one
fresh qcow2 overlay of that staged disk with:

- **floor**: the tiny system's image + an appended zstd cpio (\`build/cpio.ts\` \`writeCpio\`,
  \`build/overlay.ts\` \`concatInitramfs\`/\`compressZstd\`) that replaces \`usr/lib/va-agent/start\` with
  a generated bash script (test/bench/floor.ts; copy kept as \`floor.sh\` in the artifacts) and adds
  \`tee\` and \`sha256sum\`. It prints \`FLOOR <phase> <seconds>\` (from /proc/uptime) per phase and
  \`poweroff -f\`. Command output goes to /run/floor.log, not the serial console.
- **agent**: the unchanged tiny system with \`va.after=poweroff\`; phases are the agent's
  "\`<step>: done in X s\`" lines, "prepare" is from its first log line ("started N s after kernel
  start") to the load-payload step's first line (host clock, 0.2 s polling).

Values the agent computes (partition devices, the grown LVM partition's sectors and GUID, LV size
arguments, tar flags, kernel version) come from the same agent functions, so both runs write the
same disk. The floor has no probe, journal, verification of fstab entries, carried config or result
record. Serial logs: \`artifacts/bench-<time>/\` (or \`$VA_ARTIFACTS\`).

**Fairness:** figures come from QEMU **TCG emulation on a 2-core host** (no usable KVM): several
times slower than native, noisy, and comparable only to each other. Only one VM may run at a time —
a second VM makes every phase 1.5–2× slower — so the script refuses to start while another
\`qemu-system\` process runs, unless \`--force\` (the page then says so).

## Latest measurement

\`${command}\`

${table}

"work begins": the floor script's start plus its \`udevadm settle\` vs the agent's first log line
(the agent's start wrapper runs the same \`udevadm settle\` before starting the agent, so the
difference is mostly bun starting the 110 MB agent). Agent steps the floor has no counterpart for
(e.g. new steps added after this table's mapping) get their own rows with floor 0.
"total in the tiny system" is the host clock from kernel start (estimated from that first line and
its uptime) to QEMU's exit at poweroff, for both runs alike.

${facts.join("\n")}
`;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[bench] ERROR: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
