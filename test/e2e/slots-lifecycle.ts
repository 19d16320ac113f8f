// Issue 16's proof on one migrated box (docs/SLOTS.md): after the click-path migration, the box is
// started again with a blank disk AHEAD of its system disk on the bus (Linux: vda blank, vdb system), and a command disk whose
// run.sh (started by the probe on every boot, counting boots on /data) walks the slot life cycle:
//
//   boot 1  A            install 13.1 (good) into B, reboot
//   boot 2  B try 1      13.1 commits itself; reboot           boots 3, 4, 5: still B; then `slot rollback`
//   boot 6  A            primary again (late rollback); install 13.2 (its kernel panics), reboot
//   B try 1, 2, 3        kernel panics, panic=10 reboots; GRUB gives up on B
//   boot 7  A            by itself; B bad "did not come up in 3 tries"; install 13.3 (health check fails)
//   boot 8  B try 1      the vendor's health check fails: marked bad, reboot
//   boot 9  A            B bad "health check failed"; the data LV's sentinel intact; power off

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../assets/host.ts";
import type { NewOs } from "../assets/new-os.ts";
import { makeCommandDisk, type OldAppliance } from "../assets/old-appliance.ts";
import { buildSlotImage, SLOT_RELEASES, type SlotRelease } from "../assets/slot-images.ts";
import { clickPath, type SignedBundle } from "./click-path.ts";
import { type Check, parseProbeFacts } from "./probe-facts.ts";
import { ENTROPY, startVm, type Vm, waitExit } from "./qemu.ts";
import { failure, type ScenarioResult, type Timing } from "./scenario.ts";
import { checkSlotBoot, slotStatusOf } from "./slot-facts.ts";
import { buildTs, type TinySystem } from "./tiny-system.ts";

const NAME = "slots-lifecycle";
const CUT_NAME = "slots-power-cut";
const PRODUCT = "va-demo";
const BOOT_LINE = /va-boot: (?:slot ([AB]) try (\d) of (\d)|no slot qualifies)/;

/** The vendor side: a signed slot image (build.ts bundle --slot-image) of each release. */
export async function buildSlotBundles(newOs: NewOs, tiny: TinySystem, dir: string): Promise<Record<SlotRelease, string>> {
  mkdirSync(dir, { recursive: true });
  const bundles = {} as Record<SlotRelease, string>;
  for (const kind of Object.keys(SLOT_RELEASES) as SlotRelease[]) {
    const image = await buildSlotImage(newOs, kind);
    const manifest = join(dir, `${kind}.manifest.json`);
    const document = {
      kind: "slot-image",
      version: 1,
      product: { name: PRODUCT, release: image.release },
      payload: { rootfs: { file: "rootfs.tar.zst", bytes: image.bytes, sha256: image.sha256, compression: "zstd" } },
      filesystem: "ext4",
    };
    writeFileSync(manifest, `${JSON.stringify(document, null, 2)}\n`);
    bundles[kind] = join(dir, `${kind}.tar`);
    buildTs(["bundle", "--slot-image", "--manifest", manifest, "--key", tiny.keys.privateKey, "--out", bundles[kind], "--file", `rootfs.tar.zst=${image.file}`]);
  }
  return bundles;
}

/**
 * The pieces of every run.sh: which boot of the scenario this is (counted on /data, shared by both
 * slots) and which slot runs it; a random sentinel on /data and its check; the reboot after a step.
 */
const BOOT_COUNT = `n=$(( $(cat /data/va-test-boot 2>/dev/null || echo 0) + 1 )); echo "$n" >/data/va-test-boot; sync
slot=$(sed -n 's/.*va\\.slot=\\([AB]\\).*/\\1/p' /proc/cmdline)
`;
const WRITE_SENTINEL = "head -c 4194304 /dev/urandom >/data/va-sentinel && sha256sum /data/va-sentinel >/data/va-sentinel.sha256; sync";
const CHECK_SENTINEL = 'sha256sum -c /data/va-sentinel.sha256 >/dev/null; echo "VA-DATA-INTACT $?";';
const REBOOT = `sync
systemctl reboot
sleep 600
`;

/** run.sh on the command disk: the probe runs it after its report, on every boot. */
function lifeCycleScript(): string {
  return `set -u
${BOOT_COUNT}# Boot 8 (13.3 on B) may reboot, marked bad by its failed health check, before it gets here.
if [ "$n" = 8 ] && [ "$slot" = A ]; then n=9; echo "$n" >/data/va-test-boot; sync; fi
echo "VA-SLOT-STEP $n slot=$slot"
install() { va-agent install "/run/va-slot-cmd/$1.tar"; echo "VA-INSTALL-EXIT $1 $?"; }
case "$n" in
  1) ${WRITE_SENTINEL}
     install good ;;
  5) va-agent slot rollback; echo "VA-ROLLBACK-EXIT $?" ;;
  6) install panics ;;
  7) va-agent slot status; install unhealthy ;;
  8) echo "VA-WAITING-FOR-THE-HEALTH-CHECK"; sleep 1200 ;;
  9) ${CHECK_SENTINEL} va-agent slot status; exit 0 ;;
esac
${REBOOT}`;
}

interface Boot {
  slot: string;
  tryNumber: string;
  /** The console from this boot's GRUB line to the next one. */
  console: string;
}

/** The console cut at each of GRUB's `va-boot:` lines. */
function bootsIn(serial: string): Boot[] {
  const starts = [...serial.matchAll(new RegExp(BOOT_LINE.source, "g"))];
  return starts.map((m, i) => ({ slot: m[1] ?? "rescue", tryNumber: m[2] ?? "", console: serial.slice(m.index, starts[i + 1]?.index ?? serial.length) }));
}

export async function slotsLifecycle(shared: { newOs: NewOs; old: OldAppliance; tiny: TinySystem; signed: SignedBundle; artifacts: string }): Promise<ScenarioResult> {
  const variant = { name: NAME, bus: "virtio" as const, sizeFactor: 1, compression: "zstd" as const };
  try {
    const migrated = await clickPath({ ...shared, sizeFactor: 1, name: NAME });
    if (migrated.error || !migrated.checks.every((c) => c.ok)) return { ...migrated, variant };
    const cycle = await lifeCycleOn(join(shared.artifacts, NAME), shared);
    return { variant, timings: [...migrated.timings, ...cycle.timings], checks: [...migrated.checks, ...cycle.checks] };
  } catch (error) {
    return { variant, timings: [], checks: [], ...failure(error) };
  }
}

/** Power cuts during slot installs and commits (done-when 5 of issue 16), after the click path. */
export async function slotsPowerCut(shared: { newOs: NewOs; old: OldAppliance; tiny: TinySystem; signed: SignedBundle; artifacts: string }): Promise<ScenarioResult> {
  const variant = { name: CUT_NAME, bus: "virtio" as const, sizeFactor: 1, compression: "zstd" as const };
  try {
    const migrated = await clickPath({ ...shared, sizeFactor: 1, name: CUT_NAME });
    if (migrated.error || !migrated.checks.every((c) => c.ok)) return { ...migrated, variant };
    const cuts = await powerCutsOn(join(shared.artifacts, CUT_NAME), shared);
    return { variant, timings: [...migrated.timings, ...cuts.timings], checks: [...migrated.checks, ...cuts.checks] };
  } catch (error) {
    return { variant, timings: [], checks: [], ...failure(error) };
  }
}

/** The life cycle on a migrated box's disk (`dir`/disk.qcow2): one VM, every reboot inside it. */
export async function lifeCycleOn(dir: string, shared: { newOs: NewOs; old: OldAppliance; tiny: TinySystem }): Promise<{ timings: Timing[]; checks: Check[] }> {
  const timings: Timing[] = [];
  const bundles = await buildSlotBundles(shared.newOs, shared.tiny, join(dir, "vendor"));
  const commandDisk = await makeCommandDisk(join(dir, "slot-command.img"), lifeCycleScript(), { files: Object.fromEntries(Object.entries(bundles).map(([kind, path]) => [`${kind}.tar`, path])), label: "VASLOTCMD" });
  const blank = join(dir, "blank-first.qcow2");
  await run(["qemu-img", "create", "-q", "-f", "qcow2", blank, String(1024 ** 3)]);
  const vm = startVm({
    name: `${NAME}-slots`,
    disks: [
      // Ahead on the bus: Linux names it vda and the system disk vdb, GRUB's lvm module scans both.
      // (The firmware boots the system disk: SeaBIOS, like a PC BIOS, boots only the first disk of its order.)
      { path: blank, format: "qcow2", bus: "virtio", bootIndex: 2 },
      { path: join(dir, "disk.qcow2"), format: "qcow2", bus: "virtio", bootIndex: 1 },
      { path: commandDisk, format: "raw", bus: "virtio" },
    ],
    nic: { mac: shared.old.facts.mac },
    serialLog: join(dir, "slots-serial.log"),
    extraArgs: ENTROPY,
  });
  const started = performance.now();
  const phase = async (what: string, wait: () => Promise<unknown>) => {
    const t0 = performance.now();
    await wait();
    timings.push({ phase: what, seconds: (performance.now() - t0) / 1000 });
  };
  await phase("boot 1 (A) + install 13.1 into B", () => stepDone(vm, 1, /VA-INSTALL-EXIT good \d+/));
  await phase("reboot → boot 2 (B) commits 13.1", () => stepDone(vm, 2));
  await phase("boots 3–5 stay on B, then rollback", () => stepDone(vm, 5, /VA-ROLLBACK-EXIT \d+/));
  await phase("boot 6 (A) + install 13.2 (panics)", () => stepDone(vm, 6, /VA-INSTALL-EXIT panics \d+/));
  await phase("3 panicking tries of B → boot 7 (A) by itself + install 13.3", () => stepDone(vm, 7, /VA-INSTALL-EXIT unhealthy \d+/, { ignoreFatal: true }));
  await phase("boot 8 (B): health check fails → boot 9 (A)", () => stepDone(vm, 9, /VA-DATA-INTACT \d+/));
  await waitExit(vm, 300);
  timings.push({ phase: "slot life cycle in all", seconds: (performance.now() - started) / 1000 });
  return { timings, checks: judgeLifeCycle(readFileSync(join(dir, "slots-serial.log"), "latin1")) };
}

/** Waits for run.sh's step `n` (and a line it prints); a boot of the new system takes minutes under TCG. */
async function stepDone(vm: Vm, n: number, then?: RegExp, options: { ignoreFatal?: boolean } = {}): Promise<void> {
  await vm.waitFor(new RegExp(`VA-SLOT-STEP ${n} slot=`), 15 * 60, options);
  if (then) await vm.waitFor(then, 20 * 60);
}

export function judgeLifeCycle(serial: string): Check[] {
  const boots = bootsIn(serial);
  const step = (n: number) => boots.find((b) => b.console.includes(`VA-SLOT-STEP ${n} slot=`));
  const facts = (n: number) => parseProbeFacts(step(n)?.console ?? "");
  const code = (re: RegExp) => re.exec(serial)?.[1];
  const installed = { state: "installed", good: true };
  const bad = { state: "installed", good: false };
  const b7 = slotStatusOf(facts(7))?.slots.find((s) => s.name === "B");
  const b9 = slotStatusOf(facts(9))?.slots.find((s) => s.name === "B");
  const between = (from: number, to: number) => boots.slice(boots.indexOf(step(from)!) + 1, boots.indexOf(step(to)!));
  const afterRollback = between(6, 7);
  const unhealthy = between(7, 9);
  const panics = (serial.slice(serial.indexOf("VA-INSTALL-EXIT panics")).match(/Kernel panic - not syncing/g) ?? []).length;
  return [
    { name: "install of 13.1 into B from A exits 0", ok: code(/VA-INSTALL-EXIT good (\d+)/) === "0", seen: `exit ${code(/VA-INSTALL-EXIT good (\d+)/)}` },
    ...checkSlotBoot(facts(2), step(2)?.console ?? "", { slot: "B", release: "13.1", tryNumber: 1, states: { A: installed, B: installed }, primary: "B" }),
    { name: "3 more reboots stay on B", ok: [3, 4, 5].every((n) => step(n)?.slot === "B"), seen: [3, 4, 5].map((n) => `${n}:${step(n)?.slot}`).join(" ") },
    { name: "`va-agent slot rollback` exits 0", ok: code(/VA-ROLLBACK-EXIT (\d+)/) === "0", seen: `exit ${code(/VA-ROLLBACK-EXIT (\d+)/)}` },
    ...checkSlotBoot(facts(6), step(6)?.console ?? "", { slot: "A", release: "13.0", states: { A: installed, B: installed }, primary: "A" }),
    { name: "install of 13.2 (kernel panics) exits 0", ok: code(/VA-INSTALL-EXIT panics (\d+)/) === "0", seen: `exit ${code(/VA-INSTALL-EXIT panics (\d+)/)}` },
    { name: "13.2's kernel panicked 3 times, GRUB tried B 3 times, then A by itself", ok: panics >= 3 && afterRollback.map((b) => `${b.slot}${b.tryNumber}`).join(" ") === "B1 B2 B3" && step(7)?.slot === "A", seen: `${panics} panics; GRUB: ${afterRollback.map((b) => `${b.slot} try ${b.tryNumber}`).join(", ")}, then ${step(7)?.slot}` },
    { name: "slot status says B is bad: it did not come up in 3 tries", ok: b7?.good === false && /3 tries/.test(b7.badReason ?? ""), seen: `B ${b7?.good ? "good" : "bad"} (${b7?.badReason ?? "no reason"})` },
    { name: "install of 13.3 (failing health check) exits 0", ok: code(/VA-INSTALL-EXIT unhealthy (\d+)/) === "0", seen: `exit ${code(/VA-INSTALL-EXIT unhealthy (\d+)/)}` },
    // (the failing unit's own words go to /dev/console, the VGA console here: the reason in slot status below is the evidence)
    { name: "13.3 booted once (B try 1), then the box rebooted into A by itself", ok: unhealthy.map((b) => `${b.slot}${b.tryNumber}`).join(" ") === "B1" && step(9)?.slot === "A", seen: `GRUB: ${unhealthy.map((b) => `${b.slot} try ${b.tryNumber}`).join(", ")}, then ${step(9)?.slot}` },
    ...checkSlotBoot(facts(9), step(9)?.console ?? "", { slot: "A", release: "13.0", states: { A: installed, B: bad }, primary: "A" }),
    { name: "slot status says why B is bad: health check failed", ok: /health check/.test(b9?.badReason ?? ""), seen: b9?.badReason ?? "no reason" },
    { name: "the data LV untouched by three installs and two fallbacks (sentinel's SHA-256)", ok: code(/VA-DATA-INTACT (\d+)/) === "0", seen: `sha256sum -c exit ${code(/VA-DATA-INTACT (\d+)/)}` },
  ];
}

/** run.sh of the power-cut run: the harness cuts the power (SIGKILL of QEMU) at the points it names. */
function powerCutScript(): string {
  return `set -u
${BOOT_COUNT}echo "VA-SLOT-STEP $n slot=$slot"
case "$n" in
  1) ${WRITE_SENTINEL}
     echo "VA-INSTALL-STARTED"; va-agent install /run/va-slot-cmd/good.tar; echo "VA-INSTALL-EXIT good $?" ;;
  2) va-agent install /run/va-slot-cmd/good.tar; echo "VA-INSTALL-EXIT good-again $?" ;;
  *) ${CHECK_SENTINEL} exit 0 ;;
esac
${REBOOT}`;
}

/**
 * Power cuts on a migrated box's disk: in the middle of an install (the extraction running), and
 * right after GRUB counted the new slot's first try, before its commit. Every time the box must come
 * up in a good slot, its grubenv parsing, /data intact.
 */
export async function powerCutsOn(dir: string, shared: { newOs: NewOs; old: OldAppliance; tiny: TinySystem }): Promise<{ timings: Timing[]; checks: Check[] }> {
  const timings: Timing[] = [];
  const bundles = await buildSlotBundles(shared.newOs, shared.tiny, join(dir, "vendor"));
  const commandDisk = await makeCommandDisk(join(dir, "cut-command.img"), powerCutScript(), { files: { "good.tar": bundles.good }, label: "VASLOTCMD" });
  const boot = (n: number) =>
    startVm({
      name: `${CUT_NAME}-${n}`,
      disks: [
        { path: join(dir, "disk.qcow2"), format: "qcow2", bus: "virtio" },
        { path: commandDisk, format: "raw", bus: "virtio" },
      ],
      nic: { mac: shared.old.facts.mac },
      serialLog: join(dir, `cut-serial-${n}.log`),
      extraArgs: ENTROPY,
    });
  const t0 = performance.now();
  const first = boot(1);
  await first.waitFor(/VA-INSTALL-STARTED/, 15 * 60);
  // The bundle is verified, then beginInstall, mkfs and the extraction (a minute or more under TCG): cut inside it.
  await first.waitFor(/\] (make-filesystem|extract-rootfs):/, 10 * 60);
  await Bun.sleep(15_000);
  await first.kill();
  timings.push({ phase: "boot 1 (A), install cut mid-way", seconds: (performance.now() - t0) / 1000 });
  const second = boot(2);
  await second.waitFor(/VA-INSTALL-EXIT good-again \d+/, 30 * 60);
  await second.waitFor(/va-boot: slot B try 1 of 3/, 15 * 60);
  // GRUB has saved B's first try; the cut comes before the kernel (and so the commit) runs.
  await second.kill();
  timings.push({ phase: "boot 2 (A) after the cut, install again, B's try 1 cut", seconds: (performance.now() - t0) / 1000 });
  const third = boot(3);
  await third.waitFor(/VA-DATA-INTACT \d+/, 20 * 60);
  await waitExit(third, 300);
  timings.push({ phase: "boot 3 (B try 2) commits", seconds: (performance.now() - t0) / 1000 });
  const serial = (n: number) => readFileSync(join(dir, `cut-serial-${n}.log`), "latin1");
  const afterCut = parseProbeFacts(serial(2));
  const b2 = slotStatusOf(afterCut)?.slots.find((s) => s.name === "B");
  return {
    timings,
    checks: [
      { name: "after a power cut in the middle of install, the box comes up in slot A", ok: /va-boot: slot A try 1 of 3/.test(serial(2)) && /va\.slot=A/.test(String(afterCut.cmdline)), seen: /va-boot: [^\r\n]*/.exec(serial(2))?.[0] ?? "no va-boot line" },
      { name: "its grubenv parses; B is marked bad and 'installing' (GRUB never boots the half-written slot)", ok: b2?.good === false && b2.state === "installing", seen: `B ${b2?.state ?? "?"} ${b2?.good ? "good" : "not good"}` },
      { name: "the install run again finishes (exit 0)", ok: /VA-INSTALL-EXIT good-again 0/.test(serial(2)), seen: /VA-INSTALL-EXIT good-again \d+/.exec(serial(2))?.[0] ?? "none" },
      ...checkSlotBoot(parseProbeFacts(serial(3)), serial(3), { slot: "B", release: "13.1", tryNumber: 2, states: { A: { state: "installed", good: true }, B: { state: "installed", good: true } }, primary: "B" }),
      { name: "the data LV intact after both cuts (sentinel's SHA-256)", ok: /VA-DATA-INTACT 0/.test(serial(3)), seen: /VA-DATA-INTACT \d+/.exec(serial(3))?.[0] ?? "none" },
    ],
  };
}
