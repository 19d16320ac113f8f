// The migration scenario, end to end on real disks: the old appliance (Debian 11 installed like
// CentOS 7) gets the payload staged in /etc/upd, the tiny system boots against its disk and the
// agent migrates it, then the VM boots from the disk alone — SeaBIOS, the new GRUB, Debian 13 —
// and the test-only probe unit reports what the new system looks like.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../assets/host.ts";
import type { NewOs } from "../assets/new-os.ts";
import { makeCommandDisk, type OldAppliance, oldApplianceOverlay, readCommandDisk } from "../assets/old-appliance.ts";
import { type Check, checkNewSystem, parseProbeFacts } from "./probe-facts.ts";
import type { PayloadCompression, StagedPayload } from "./payload.ts";
import { type DiskBus, startVm, waitExit, ENTROPY } from "./qemu.ts";
import type { TinySystem } from "./tiny-system.ts";
import { TINY_CMDLINE } from "../../agent/bootloader/tiny-cmdline.ts";
import { VmWaitError } from "./console-watch.ts";

export interface Variant {
  name: string;
  bus: DiskBus;
  /** Disk size as a multiple of the layout's size. */
  sizeFactor: number;
  compression: PayloadCompression;
}

export interface Timing {
  phase: string;
  seconds: number;
}

export interface ScenarioResult {
  variant: Variant;
  checks: Check[];
  timings: Timing[];
  error?: string;
  /** The failure was an emulator fault with a known signature (the runner may rerun once). */
  flake?: { vm: string; signature: string };
}

/** The fields of a result for a scenario that threw: the message, and the flake if it was one. */
export function failure(error: unknown): Pick<ScenarioResult, "error" | "flake"> {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof VmWaitError && error.flake) return { error: message, flake: { vm: error.vm, signature: error.flake.signature } };
  return { error: message };
}

/** The agent's first log line says how long after kernel start it got control (from /proc/uptime). */
const AGENT_STARTED = /\[va-agent [\d:]+\] va-agent \S+ \S+ started ([\d.]+) s after kernel start/;
/** The probe's first line, or the ways a broken new system stops: emergency mode, a GRUB rescue prompt. */
export const NEW_SYSTEM_UP_OR_STUCK = /VA-PROBE os-release|You are in emergency mode|Give root password for maintenance|grub rescue>|Failed to mount \/boot/;
const MIGRATION_TIMEOUT_S = 40 * 60;
const BOOT_TIMEOUT_S = 10 * 60;

/** Boots the old appliance once with the payload on a command disk; its hook copies it to /etc/upd. */
export async function stagePayload(old: OldAppliance, payload: StagedPayload, artifacts: string): Promise<{ disk: string; timings: Timing[] }> {
  const disk = await oldApplianceOverlay(join(artifacts, "staged-old.qcow2"), old.diskImage);
  const names = Object.keys(payload.files);
  const script = [
    "set -eu",
    "mkdir -p /etc/upd",
    ...names.map((name) => `cp ${name} /etc/upd/${name}`),
    "sync",
    "ls -l /etc/upd",
    "echo VA-STAGED",
  ].join("\n");
  const commandDisk = await makeCommandDisk(join(artifacts, "stage-command.img"), `${script}\n`, { files: payload.files, then: "poweroff" });
  const vm = startVm({
    name: "old-stage",
    disks: [
      { path: disk, format: "qcow2", bus: "virtio" },
      { path: commandDisk, format: "raw", bus: "virtio" },
    ],
    nic: { mac: old.facts.mac },
    serialLog: join(artifacts, "serial-old-stage.log"),
    noReboot: true,
  });
  const staged = await vm.waitFor(/VA-TEST-HOOK: run.sh exit code \d+/, BOOT_TIMEOUT_S);
  await waitExit(vm, 120);
  const result = await readCommandDisk(commandDisk);
  if (result.exitCode !== 0 || !result.output.includes("VA-STAGED")) throw new Error(`staging on the old system failed (exit ${result.exitCode}):\n${result.output}`);
  return { disk, timings: [{ phase: "old system boot + staging", seconds: staged.seconds }] };
}

export async function runScenario(
  variant: Variant,
  shared: { newOs: NewOs; old: OldAppliance; stagedDisk: string; tiny: TinySystem; artifacts: string },
): Promise<ScenarioResult> {
  const timings: Timing[] = [];
  const dir = join(shared.artifacts, variant.name);
  const disk = join(dir, "disk.qcow2");
  await run(["mkdir", "-p", dir]);
  const bytes = shared.newOs.layoutBytes * variant.sizeFactor;
  await run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", shared.stagedDisk, disk, String(bytes)]);
  try {
    await migrateInTinySystem(variant, disk, shared.tiny, dir, timings);
    const checks = await bootNewSystem(variant, disk, shared, dir, timings);
    return { variant, checks, timings };
  } catch (error) {
    return { variant, checks: [], timings, ...failure(error) };
  }
}

async function migrateInTinySystem(variant: Variant, disk: string, tiny: TinySystem, dir: string, timings: Timing[]): Promise<void> {
  const serialLog = join(dir, "serial-tiny.log");
  const vm = startVm({
    name: `tiny-${variant.name}`,
    disks: [{ path: disk, format: "qcow2", bus: variant.bus }],
    kernel: tiny.kernel,
    initrd: tiny.initramfs,
    append: `console=ttyS0,115200 ${TINY_CMDLINE} va.after=reboot`,
    noReboot: true,
    serialLog,
    extraArgs: ENTROPY,
  });
  const agent = await vm.waitFor(AGENT_STARTED, 300);
  const kernelStartedAt = agent.seconds - Number(agent.match[1]);
  timings.push({ phase: "tiny system: kernel start → agent's first log line", seconds: Number(agent.match[1]) });
  const finished = await vm.waitFor(/migration finished|FAILED with exit code \d+/, MIGRATION_TIMEOUT_S);
  if (!/migration finished/.test(finished.match[0])) {
    await vm.kill();
    throw new Error(`the agent failed in the tiny system:\n${vm.tail(30)}`);
  }
  await waitExit(vm, 180);
  timings.push(...stepTimings(readFileSync(serialLog, "utf8")));
  timings.push({ phase: "tiny system total (kernel start → reboot)", seconds: (Date.now() - vm.startedAt) / 1000 - kernelStartedAt });
}

async function bootNewSystem(
  variant: Variant,
  disk: string,
  shared: { newOs: NewOs; old: OldAppliance },
  dir: string,
  timings: Timing[],
): Promise<Check[]> {
  const serialLog = join(dir, "serial-new.log");
  const vm = startVm({
    name: `new-${variant.name}`,
    disks: [{ path: disk, format: "qcow2", bus: variant.bus }],
    nic: { mac: shared.old.facts.mac },
    noReboot: true,
    serialLog,
  });
  const up = await vm.waitFor(NEW_SYSTEM_UP_OR_STUCK, BOOT_TIMEOUT_S);
  if (!up.match[0].startsWith("VA-PROBE")) {
    await vm.kill();
    throw new Error(`the new system did not come up: "${up.match[0]}"\n${vm.tail(30)}`);
  }
  timings.push({ phase: "reboot → new system up (probe running)", seconds: up.seconds });
  await vm.waitFor(/VA-PROBE-END/, 300);
  await waitExit(vm, 180);
  const serial = readFileSync(serialLog, "latin1");
  const minDataBytes = shared.newOs.layoutBytes * (variant.sizeFactor - 1) + 512 * 1024 ** 2;
  return checkNewSystem(parseProbeFacts(serial), serial, { minDataBytes, diskBus: variant.bus });
}

/** "[va-agent hh:mm:ss] <step>: done in <s> s" lines, in order. */
export function stepTimings(serial: string): Timing[] {
  return [...serial.matchAll(/\[va-agent [\d:]+\] ([a-z-]+): done in ([\d.]+) s/g)].map((m) => ({ phase: `  step ${m[1]}`, seconds: Number(m[2]) }));
}

/** Issue 2's proof: the tiny system's replaced unit starts the agent, and `va-agent plan` prints the plan for the disk. */
export async function planInTinySystem(stagedDisk: string, tiny: TinySystem, artifacts: string): Promise<{ checks: Check[]; timings: Timing[] }> {
  const dir = join(artifacts, "tiny-plan");
  const disk = join(dir, "disk.qcow2");
  await run(["mkdir", "-p", dir]);
  await run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", stagedDisk, disk]);
  const serialLog = join(dir, "serial-tiny-plan.log");
  const vm = startVm({
    name: "tiny-plan",
    disks: [{ path: disk, format: "qcow2", bus: "virtio" }],
    kernel: tiny.kernel,
    initrd: tiny.initramfs,
    append: `console=ttyS0,115200 ${TINY_CMDLINE} va.mode=plan va.poweroff=1`,
    noReboot: true,
    serialLog,
    extraArgs: ENTROPY,
  });
  const agent = await vm.waitFor(AGENT_STARTED, 300);
  const end = await vm.waitFor(/unmount-target|FAILED with exit code \d+/, 300);
  if (!end.match[0].startsWith("unmount-target")) {
    await vm.kill();
    throw new Error(`va-agent plan failed in the tiny system:\n${vm.tail(30)}`);
  }
  await waitExit(vm, 120);
  const serial = readFileSync(serialLog, "latin1");
  const checks: Check[] = [
    { name: "the replaced dracut-emergency.service started the agent", ok: /\[va-agent \d/.test(serial), seen: firstLine(serial, /\[va-agent \d/) },
    { name: "plan names the old system and the target disk", ok: /target disk: \/dev\/vda /.test(serial), seen: firstLine(serial, /target disk:/) },
    { name: "plan lists the partitioning commands for /dev/vda", ok: serial.includes("+ sgdisk --zap-all /dev/vda"), seen: firstLine(serial, /sgdisk --zap-all/) },
    { name: "plan marks the point of no return", ok: serial.includes("[POINT OF NO RETURN]"), seen: firstLine(serial, /POINT OF NO RETURN/) },
  ];
  return { checks, timings: [{ phase: "tiny system (plan): kernel start → agent's first log line", seconds: Number(agent.match[1]) }] };
}

function firstLine(text: string, pattern: RegExp): string {
  return text.split("\n").find((line) => pattern.test(line))?.trim() ?? "(not found)";
}
