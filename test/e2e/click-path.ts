// Issue 4's proof: the whole click path. The old appliance boots from its disk, runs
// `va-agent stage bundle.tar --reboot` (signed bundle, pre-flight, config capture, one-time GRUB
// entry), its own GRUB starts the tiny system, the agent migrates, and the box comes back in the
// new OS with its IP on the NIC with the old MAC, its DNS, hostname, password hashes and data.

import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { run } from "../assets/host.ts";
import type { NewOs } from "../assets/new-os.ts";
import { makeCommandDisk, type OldAppliance, type OldFacts, oldApplianceOverlay } from "../assets/old-appliance.ts";
import { writeTestPayload } from "./payload.ts";
import { type Check, checkNewSystem, parseProbeFacts, type ProbeFacts } from "./probe-facts.ts";
import { startVm, type Vm, waitExit, ENTROPY } from "./qemu.ts";
import { failure, NEW_SYSTEM_UP_OR_STUCK, type ScenarioResult, stepTimings, type Timing } from "./scenario.ts";
import { buildTs, type TinySystem } from "./tiny-system.ts";
import { TEST_CARRY_OVER } from "../unit/fixtures/shapes.ts";
import { checkMigratedSlots } from "./slot-facts.ts";
import { checkManagedNetwork, LOG_DISK_BYTES, managedNetworkSetup, MORE_NICS, oldSetupFacts } from "./managed-network-box.ts";


export interface SignedBundle {
  bundle: string;
  publicKey: string;
}

/** The vendor side: the signed bundle (zstd payload), made with build.ts and the key the tiny system trusts. */
export function buildSignedBundle(newOs: NewOs, tiny: TinySystem, dir: string, opts: { rebuildInitramfs?: boolean; accounts?: string[]; manifest?: Record<string, unknown> } = {}): SignedBundle {
  mkdirSync(dir, { recursive: true });
  const template = writeTestPayload(newOs, dir, "zstd", {
    tinySystem: { kernel: { file: "vmlinuz-convert" }, initramfs: { file: "initramfs-convert.img" }, agent: { file: "va-agent" } },
    // The fast path by default: the payload's generic initramfs is kept (the direct variants cover the rebuild).
    bootloader: { kind: "grub-bios", rebuildInitramfs: opts.rebuildInitramfs ?? false },
    // The migration ends in the slot state (docs/SLOTS.md): A holds the new system, B is empty.
    slots: { a: "root", b: "back" },
    ...(opts.accounts ? { carryOver: { ...TEST_CARRY_OVER, accounts: opts.accounts } } : {}),
    ...opts.manifest,
  });
  const bundle = join(dir, "bundle.tar");
  const files = { ...template.files, "vmlinuz-convert": tiny.kernel, "initramfs-convert.img": tiny.initramfs, "va-agent": tiny.agent };
  delete (files as Record<string, string>)["manifest.json"];
  buildTs(["bundle", "--manifest", template.manifestPath, "--key", tiny.keys.privateKey, "--out", bundle, ...Object.entries(files).flatMap(([name, path]) => ["--file", `${name}=${path}`])]);
  return { bundle, publicKey: tiny.keys.publicKey };
}

/**
 * run.sh prologue on the old system: every output line also goes to the serial console (opened
 * per line: serial-getty's vhangup makes a long-held ttyS0 descriptor fail), then the agent and
 * the vendor key are installed as the appliance's own update mechanism would.
 */
const PROLOGUE = [
  "set -u -o pipefail",
  "exec > >(while IFS= read -r line; do printf '%s\\n' \"$line\"; printf '%s\\n' \"$line\" 2>/dev/null >/dev/ttyS0 || true; done) 2>&1",
  "install -D -m 0755 va-agent /usr/local/bin/va-agent",
  "install -D -m 0644 va-signing.pub /etc/va-agent/keys/vendor.pub",
];

/**
 * `plain`: the old appliance as built (one NIC). `managed-network`: issue 14's box (managed-network-box.ts):
 * bond + VLAN + IPv6, a NIC left down, an account the new OS lacks, a log archive on a second disk.
 */
export type ClickPathBox = "plain" | "managed-network";

/** `lvmBytesBeyondLayout`: what the manifest's LVM takes beyond the reference layout's (a factory LV, a snapshot reserve), which /data then lacks. */
export async function clickPath(shared: { newOs: NewOs; old: OldAppliance; tiny: TinySystem; signed: SignedBundle; artifacts: string; sizeFactor: number; box?: ClickPathBox; name?: string; lvmBytesBeyondLayout?: number }): Promise<ScenarioResult> {
  const managed = shared.box === "managed-network";
  const name = shared.name ?? (managed ? "click-path-managed-network" : `click-path-virtio-${shared.sizeFactor}x`);
  const variant = { name, bus: "virtio" as const, sizeFactor: shared.sizeFactor, compression: "zstd" as const };
  const dir = join(shared.artifacts, variant.name);
  const timings: Timing[] = [];
  try {
    mkdirSync(dir, { recursive: true });
    const disk = await oldApplianceOverlay(join(dir, "disk.qcow2"), shared.old.diskImage);
    await run(["qemu-img", "resize", "-q", disk, String(shared.newOs.layoutBytes * shared.sizeFactor)]);
    const setup = managed ? managedNetworkSetup() : [];
    const commandDisk = await makeCommandDisk(join(dir, "command.img"), stageScript(...setup, "va-agent stage bundle.tar --reboot"), { files: bundleFiles(shared.signed, shared.tiny) });
    const logDisk = managed ? join(dir, "logs.qcow2") : undefined;
    if (logDisk) await run(["qemu-img", "create", "-q", "-f", "qcow2", logDisk, String(LOG_DISK_BYTES)]);
    const vm = bootOldAppliance(variant.name, dir, disk, commandDisk, shared.old.facts.mac, logDisk);
    const staged = await vm.waitFor(/staged va-demo 13\.0; rebooting|va-agent: ERROR[^\n]*/, 900);
    if (!staged.match[0].startsWith("staged")) throw new Error(`stage failed on the old system:\n${vm.tail(40)}`);
    timings.push({ phase: "old system boot + va-agent stage", seconds: staged.seconds });
    const agent = await vm.waitFor(/migrate started ([\d.]+) s after kernel start/, 600);
    timings.push({ phase: "reboot through old GRUB → agent's first log line", seconds: agent.seconds - staged.seconds });
    const finished = await vm.waitFor(/migration finished|FAILED with exit code \d+/, 40 * 60);
    if (!finished.match[0].startsWith("migration finished")) throw new Error(`the migration failed:\n${vm.tail(40)}`);
    timings.push({ phase: "migration in the tiny system", seconds: finished.seconds - agent.seconds });
    const up = await vm.waitFor(NEW_SYSTEM_UP_OR_STUCK, 900);
    if (!up.match[0].startsWith("VA-PROBE")) throw new Error(`the new system did not come up: "${up.match[0]}"\n${vm.tail(30)}`);
    timings.push({ phase: "reboot → new system up (probe running)", seconds: up.seconds - finished.seconds });
    await vm.waitFor(/VA-PROBE-END/, 300);
    await waitExit(vm, 180);
    const serial = readFileSync(join(dir, "serial.log"), "latin1");
    timings.splice(timings.length - 1, 0, ...stepTimings(serial));
    const newSystem = serial.slice(serial.lastIndexOf("migration finished"));
    const facts = parseProbeFacts(newSystem);
    const minDataBytes = shared.newOs.layoutBytes * (shared.sizeFactor - 1) + 512 * 1024 ** 2 - (shared.lvmBytesBeyondLayout ?? 0);
    const carried = managed ? checkManagedNetwork(facts, oldSetupFacts(serial)) : checkCarriedConfig(facts, shared.old.facts);
    return { variant, timings, checks: [...checkNewSystem(facts, newSystem, { minDataBytes, diskBus: "virtio" }), ...carried, ...checkMigratedSlots(facts, newSystem, "13.0")] };
  } catch (error) {
    return { variant, timings, checks: [], ...failure(error) };
  }
}

/** The old appliance from its own disk, a command disk beside it, its NIC with the fixed MAC; reboots stay in the VM. */
function bootOldAppliance(name: string, dir: string, disk: string, commandDisk: string, mac: string, logDisk?: string): Vm {
  return startVm({
    name,
    disks: [
      { path: disk, format: "qcow2", bus: "virtio" },
      { path: commandDisk, format: "raw", bus: "virtio" },
      ...(logDisk ? [{ path: logDisk, format: "qcow2" as const, bus: "virtio" as const }] : []),
    ],
    nic: { mac },
    ...(logDisk ? { moreNics: MORE_NICS } : {}),
    serialLog: join(dir, "serial.log"),
    extraArgs: ENTROPY,
  });
}

/** run.sh for the old system: the prologue, then the given commands. */
export function stageScript(...commands: string[]): string {
  return `${[...PROLOGUE, ...commands].join("\n")}\n`;
}

function bundleFiles(signed: SignedBundle, tiny: TinySystem): Record<string, string> {
  return { "bundle.tar": signed.bundle, "va-agent": tiny.agent, "va-signing.pub": signed.publicKey };
}

interface IpAddr {
  ifname: string;
  address?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export function checkCarriedConfig(facts: ProbeFacts, old: OldFacts): Check[] {
  const links = (facts["ip-addr"] ?? []) as IpAddr[];
  const nic = links.find((link) => link.address?.toLowerCase() === old.mac.toLowerCase());
  const ipv4 = nic?.addr_info?.find((a) => a.family === "inet");
  const routes = (facts["ip-route"] ?? []) as { dst: string; gateway?: string }[];
  const resolv = String(facts.resolv ?? "");
  const shadow = (facts.shadow ?? {}) as Record<string, string>;
  const files = (facts["data-files"] ?? []) as { path: string; mode: string; uid: number; gid: number; sha256: string }[];
  const fileProblems = old.dataFiles.flatMap((want) => {
    const got = files.find((f) => f.path === want.path);
    if (!got) return [`${want.path} missing`];
    return got.mode === want.mode && got.sha256 === want.sha256 && got.uid === want.uid && got.gid === want.gid ? [] : [`${want.path} ${got.mode} ${got.uid}:${got.gid} (want ${want.mode} ${want.uid}:${want.gid})`];
  });
  return [
    { name: `static ${old.address}/${old.prefix} on the NIC with the old MAC ${old.mac}`, ok: ipv4?.local === old.address && ipv4.prefixlen === old.prefix, seen: nic ? `${nic.ifname} ${ipv4?.local}/${ipv4?.prefixlen}` : "no NIC with that MAC" },
    { name: `default route via ${old.gateway}`, ok: routes.some((r) => r.dst === "default" && r.gateway === old.gateway), seen: JSON.stringify(routes.filter((r) => r.dst === "default")) },
    { name: "DNS servers and search domains carried", ok: old.dns.every((s) => resolv.includes(`nameserver ${s}`)) && old.search.every((s) => resolv.includes(s)), seen: resolv.replace(/\n/g, " | ") },
    { name: `hostname ${old.hostname}`, ok: facts.hostname === old.hostname, seen: String(facts.hostname) },
    { name: "root password hash carried", ok: shadow.root === old.rootHash, seen: `${String(shadow.root).slice(0, 12)}…` },
    { name: "admin password hash carried", ok: shadow.admin === old.adminHash, seen: `${String(shadow.admin).slice(0, 12)}…` },
    { name: `${old.dataFiles.length} data files with content, mode and owner`, ok: fileProblems.length === 0, seen: fileProblems.join("; ") || files.map((f) => `${f.path} ${f.mode}`).join(" ") },
  ];
}

/** Negative: one flipped byte in the payload inside the bundle. `stage` refuses naming the member; nothing changes; the box still boots. */
export async function tamperedBundleRefused(shared: { old: OldAppliance; tiny: TinySystem; signed: SignedBundle; artifacts: string }): Promise<ScenarioResult> {
  const variant = { name: "stage-refuses-flipped-byte", bus: "virtio" as const, sizeFactor: 1, compression: "zstd" as const };
  const dir = join(shared.artifacts, variant.name);
  try {
    const tampered = join(dir, "bundle.tar");
    mkdirSync(dir, { recursive: true });
    copyFileSync(shared.signed.bundle, tampered);
    flipByte(tampered, statSync(tampered).size - 40 * 1024 * 1024);
    const disk = await oldApplianceOverlay(join(dir, "disk.qcow2"), shared.old.diskImage);
    const script = [
      ...PROLOGUE,
      "va-agent stage bundle.tar --reboot; echo \"VA-STAGE-EXIT $?\"",
      "echo \"VA-UPD-ENTRIES $(ls -A /etc/upd 2>/dev/null | wc -l)\"",
      "echo \"VA-NEXT-ENTRY [$(grub-editenv list | grep next_entry || true)]\"",
      "echo \"VA-CUSTOM-CFG $(test -e /boot/grub/custom.cfg && echo present || echo absent)\"",
    ].join("\n");
    const commandDisk = await makeCommandDisk(join(dir, "command.img"), `${script}\n`, { files: { ...bundleFiles(shared.signed, shared.tiny), "bundle.tar": tampered }, then: "reboot" });
    const vm = bootOldAppliance(variant.name, dir, disk, commandDisk, shared.old.facts.mac);
    const exit = await vm.waitFor(/VA-STAGE-EXIT (\d+)/, 900);
    const entries = await vm.waitFor(/VA-UPD-ENTRIES (\d+)/, 60);
    const next = await vm.waitFor(/VA-NEXT-ENTRY \[([^\]]*)\]/, 60);
    const custom = await vm.waitFor(/VA-CUSTOM-CFG (\w+)/, 60);
    const rebooted = await vm.waitFor(/already started before; not running it again/, 600);
    await vm.kill();
    const serial = readFileSync(join(dir, "serial.log"), "latin1");
    const error = serial.split("\n").find((line) => line.includes("va-agent: ERROR")) ?? "";
    return {
      variant,
      timings: [{ phase: "old system boot → stage refused → old system booted again", seconds: rebooted.seconds }],
      checks: [
        { name: "stage exits with the payload error code 6", ok: exit.match[1] === "6", seen: `exit ${exit.match[1]}` },
        { name: "the error names the corrupt member", ok: error.includes("va.tar.zst"), seen: error.trim() },
        { name: "nothing written to /etc/upd", ok: entries.match[1] === "0", seen: `${entries.match[1]} entries` },
        { name: "no one-time boot armed, no GRUB entry added", ok: next.match[1] === "" && custom.match[1] === "absent", seen: `next_entry [${next.match[1]}], custom.cfg ${custom.match[1]}` },
        { name: "the old system boots again", ok: true, seen: `hook ran again at ${rebooted.seconds.toFixed(0)} s` },
      ],
    };
  } catch (error) {
    return { variant, timings: [], checks: [], ...failure(error) };
  }
}

/** The markers the old system's second boot prints after the hand-back (run.sh above). */
/** The whole console from the last second-boot start marker on (the end marker must not pass for it). */
export function secondBootSection(serial: string): string {
  const starts = [...serial.matchAll(/VA-SECOND-BOOT\r?\n/g)];
  return starts.length ? serial.slice(starts.at(-1)!.index) : "";
}

export function parseSecondBoot(serial: string): { uname: string; tinyFiles: string; nextEntry: string; customEntries: string } {
  const text = secondBootSection(serial);
  const marker = (name: string) => new RegExp(`${name} \\[([^\\]]*)\\]`).exec(text)?.[1]?.trim() ?? "<missing>";
  return { uname: marker("VA-UNAME"), tinyFiles: marker("VA-TINY-FILES"), nextEntry: marker("VA-NEXT-ENTRY"), customEntries: marker("VA-CUSTOM-ENTRY") };
}

function flipByte(path: string, offset: number): void {
  const fd = openSync(path, "r+");
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    writeSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

/** How a hand-back scenario breaks the staged migration between stage and the tiny system, and what it must see. */
export interface HandBackCase {
  name: string;
  /** Shell run on the old system after `va-agent stage` and its own `update-grub`. */
  breakIt: string;
  exitCode: string;
  /** The journal's step (load-payload) or the phase before the steps (prepare) the failure is recorded at. */
  failedAt: string;
  why: string;
}

/** A step fails: the staged payload is corrupted between stage and migrate (load-payload, exit 6). */
export const CORRUPT_PAYLOAD: HandBackCase = {
  name: "tiny-fails-before-no-return",
  breakIt: "printf '\\377' | dd of=/etc/upd/va.tar.zst bs=1 seek=1048576 conv=notrunc status=none",
  exitCode: "6",
  failedAt: "load-payload",
  why: "corrupt",
};

/**
 * prepare refuses (issue 13 items 4 and 9): one byte added to the staged manifest (still valid JSON)
 * no longer matches its signature, which the tiny system checks against its own keyring before it
 * uses the manifest (exit 13).
 */
export const TAMPERED_MANIFEST: HandBackCase = {
  name: "tiny-refuses-tampered-manifest",
  breakIt: "printf ' ' >> /etc/upd/manifest.json",
  exitCode: "13",
  failedAt: "prepare",
  why: "signature",
};

/**
 * Negative: the tiny system fails before the point of no return. The box must boot the old system
 * again, where `va-agent status` says why; the old system's own update-grub after stage (a kernel
 * update) never made the tiny system its default, and the hand-back left nothing of it in /boot.
 */
export async function failureBeforeNoReturnHandsBack(shared: { old: OldAppliance; tiny: TinySystem; signed: SignedBundle; artifacts: string }, broken: HandBackCase): Promise<ScenarioResult> {
  const variant = { name: broken.name, bus: "virtio" as const, sizeFactor: 1, compression: "zstd" as const };
  const dir = join(shared.artifacts, variant.name);
  try {
    mkdirSync(dir, { recursive: true });
    const disk = await oldApplianceOverlay(join(dir, "disk.qcow2"), shared.old.diskImage);
    const script = [
      ...PROLOGUE,
      "if [ -e /var/lib/va-agent/journal.json ]; then",
      "  echo VA-SECOND-BOOT; va-agent status; echo \"VA-STATUS-EXIT $?\"",
      "  echo \"VA-UNAME [$(uname -r)]\"",
      "  echo \"VA-TINY-FILES [$(ls -d /boot/va-agent /boot/*va-convert* 2>/dev/null | tr '\\n' ' ')]\"",
      "  echo \"VA-NEXT-ENTRY [$(grub-editenv list | grep next_entry || true)]\"",
      "  echo \"VA-CUSTOM-ENTRY [$(grep -c 'va-agent migration' /boot/grub/custom.cfg 2>/dev/null || true)]\"",
      "  echo VA-END-OF-SECOND-BOOT",
      "  (sleep 3; systemctl poweroff) & exit 0",
      "fi",
      "va-agent stage bundle.tar || exit 1",
      "update-grub; echo \"VA-UPDATE-GRUB-EXIT $?\"",
      "echo \"VA-DEFAULT-KERNEL [$(awk '$1 == \"linux\" { print $2; exit }' /boot/grub/grub.cfg)]\"",
      `${broken.breakIt} && sync && echo VA-CORRUPTED`,
      "(sleep 3; systemctl reboot) &",
    ].join("\n");
    const commandDisk = await makeCommandDisk(join(dir, "command.img"), `${script}\n`, { files: bundleFiles(shared.signed, shared.tiny), rerun: true });
    const vm = bootOldAppliance(variant.name, dir, disk, commandDisk, shared.old.facts.mac);
    const updateGrub = await vm.waitFor(/VA-UPDATE-GRUB-EXIT (\d+)/, 900);
    await vm.waitFor(/VA-CORRUPTED/, 300);
    const failed = await vm.waitFor(/FAILED with exit code (\d+) BEFORE the point of no return|FAILED with exit code \d+/, 900);
    const back = await vm.waitFor(/VA-SECOND-BOOT/, 900);
    const status = await vm.waitFor(/VA-STATUS-EXIT (\d+)/, 120);
    await vm.waitFor(/VA-END-OF-SECOND-BOOT/, 120);
    await waitExit(vm, 180);
    const serial = readFileSync(join(dir, "serial.log"), "latin1");
    const section = secondBootSection(serial);
    const statusText = section.slice(0, section.indexOf("VA-STATUS-EXIT"));
    const second = parseSecondBoot(serial);
    const defaultKernel = /VA-DEFAULT-KERNEL \[([^\]]*)\]/.exec(serial)?.[1] ?? "";
    const oldKernel = shared.old.facts.kernel;
    return {
      variant,
      timings: [{ phase: "tiny system failure → old system booted again", seconds: back.seconds - failed.seconds }],
      checks: [
        { name: `the agent failed in ${broken.failedAt} with exit ${broken.exitCode}, before the point of no return`, ok: failed.match[0].includes("BEFORE the point of no return") && failed.match[1] === broken.exitCode, seen: failed.match[0] },
        { name: "the old system booted again", ok: true, seen: `at ${back.seconds.toFixed(0)} s` },
        { name: "va-agent status on the old system shows where it failed and why", ok: status.match[1] === "0" && statusText.includes(`step ${broken.failedAt}, exit ${broken.exitCode}`) && statusText.includes(broken.why), seen: statusText.split("\n").filter((l) => /failed|result|\S/.test(l)).slice(-4).join(" | ").slice(0, 300) },
        { name: "the old system's own update-grub after stage keeps its kernel the default entry", ok: updateGrub.match[1] === "0" && defaultKernel.endsWith(`/vmlinuz-${oldKernel}`), seen: `update-grub exit ${updateGrub.match[1]}; first entry: ${defaultKernel}` },
        { name: `the old system booted its own kernel ${oldKernel} by default`, ok: second.uname === oldKernel && oldKernel.startsWith("5.10"), seen: `uname -r ${second.uname}` },
        { name: "no tiny system files left in /boot", ok: second.tinyFiles === "", seen: `[${second.tinyFiles}]` },
        { name: "no next_entry left in grubenv, no migration entry in custom.cfg", ok: second.nextEntry === "" && ["", "0"].includes(second.customEntries), seen: `next_entry [${second.nextEntry}], custom.cfg entries [${second.customEntries}]` },
      ],
    };
  } catch (error) {
    return { variant, timings: [], checks: [], ...failure(error) };
  }
}
