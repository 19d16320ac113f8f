// Issue 17's proof on one migrated box (docs/RESCUE.md): the ways back, in one VM after the click
// path. run.sh (started by the probe on every slot boot, counting boots on /data) drives the slots;
// in the rescue system the harness types at the console as an operator would.
//
//   boot 1  A   factory point recorded; snapshot before-upgrade; files added and removed, /boot's
//               kernel and initramfs overwritten; merge → the rescue system finishes it → reboot
//   boot 2  A   root and /boot as before (digests); snapshot of /data overflowed: listed invalid,
//               merge refused; reboot with it still there
//   boot 3  A   the box booted; the invalid snapshot deleted; install 13.1 into B
//   boot 4  B   13.1 committed; factory reset requested (keep /data) → rescue resets → reboot
//   boot 5  A   the factory release, root and /boot as at first install, /data kept; both slots
//               made unbootable (A's kernel emptied, B empty) → GRUB ends in the rescue system by
//               itself → `rescue install` of 13.1 from the command disk → reboot
//   boot 6  B   13.1 runs; the rescue files' hashes unchanged by two installs; snapshot, a big
//               change, merge → the power is cut in the middle of the merge in the rescue system
//   boot 7  B   after the cut the rescue system finished the merge: root as before the change

import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { NewOs } from "../assets/new-os.ts";
import { makeCommandDisk, type OldAppliance } from "../assets/old-appliance.ts";
import { buildSignedBundle, clickPath } from "./click-path.ts";
import { type Check, parseProbeFacts } from "./probe-facts.ts";
import { ENTROPY, startVm, type Vm, waitExit } from "./qemu.ts";
import { failure, type ScenarioResult, type Timing } from "./scenario.ts";
import { slotStatusOf } from "./slot-facts.ts";
import { buildSlotBundles } from "./slots-lifecycle.ts";
import type { TinySystem } from "./tiny-system.ts";

const NAME = "rescue-lifecycle";
/** The reference layout grown for a factory image and snapshot room: slots 2 GiB each, the factory image 2 GiB, 2 GiB kept free. */
export const RESCUE_MANIFEST = {
  lvm: {
    vg: "VA",
    lvs: [
      { name: "root", size: "2GiB" },
      { name: "back", size: "2GiB" },
      { name: "factory", size: "2GiB" },
      { name: "data", size: "rest" },
    ],
  },
  snapshots: { reserve: "2GiB", factoryLv: "factory" },
};
const SIZE_FACTOR = 2;
/** The factory LV and the reserve: /data is that much smaller than on the reference layout. */
const BEYOND_LAYOUT = 4 * 1024 ** 3;
const RESCUE_PROMPT = /va-tiny:[^\r\n#]*# /;

/** A digest per tree of the slot's root (its /boot included): the file list with each file's SHA-256 and each link's target. */
const DIGEST = `digest() {
  local label=$1 tree
  for tree in usr etc boot; do
    (cd / && find "$tree" -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; find "$tree" -xdev -type l -printf '%p -> %l\\n' | LC_ALL=C sort) >"/data/digest-$label-$tree.txt"
    echo "VA-DIGEST $label $tree $(sha256sum <"/data/digest-$label-$tree.txt" | cut -d' ' -f1) $(wc -l <"/data/digest-$label-$tree.txt")"
  done
}
same() { for tree in usr etc boot; do if cmp -s "/data/digest-$1-$tree.txt" "/data/digest-$2-$tree.txt"; then echo "VA-SAME $1 $2 $tree yes"; else echo "VA-SAME $1 $2 $tree no"; diff "/data/digest-$1-$tree.txt" "/data/digest-$2-$tree.txt" | head -8; fi; done; }
`;

/** `cycle`: a new one starts the count again on a disk an earlier run left (its step 1 then runs again). */
export function rescueScript(cycle: string): string {
  return `set -u
[ "$(cat /data/va-test-cycle 2>/dev/null)" = "${cycle}" ] || { echo "${cycle}" >/data/va-test-cycle; rm -f /data/va-test-boot; }
n=$(( $(cat /data/va-test-boot 2>/dev/null || echo 0) + 1 )); echo "$n" >/data/va-test-boot; sync
slot=$(sed -n 's/.*va\\.slot=\\([AB]\\).*/\\1/p' /proc/cmdline)
echo "VA-RESCUE-STEP $n slot=$slot"
${DIGEST}
# "VA-EXIT snapshot merge 0" for \`exitcode va-agent snapshot merge NAME\`
exitcode() { "$@"; local rc=$?; shift; echo "VA-EXIT $1 $2 $rc"; }
case "$n" in
  1) # the factory point is recorded after the commit (va-factory-point.service): say how it goes while it runs
     for _ in $(seq 1 90); do
       [ -e /boot/va/va-agent/factory.json ] && break
       state=$(systemctl show -p ActiveState --value va-factory-point.service)
       echo "VA-WAIT factory point: va-factory-point.service $state; $(journalctl --no-pager -o cat -n 1 -u va-factory-point.service 2>/dev/null | tail -1)"
       case "$state" in failed|inactive) [ "$(systemctl show -p ExecMainExitTimestampMonotonic --value va-factory-point.service)" != 0 ] && break ;; esac
       sleep 20
     done
     echo "VA-FACTORY $(cat /boot/va/va-agent/factory.json 2>/dev/null | tr -d '\\n')"
     [ -e /boot/va/va-agent/factory.json ] || { systemctl status --no-pager va-factory-point.service; journalctl --no-pager -u va-factory-point.service | tail -40; }
     head -c 4194304 /dev/urandom >/data/va-sentinel && sha256sum /data/va-sentinel >/data/va-sentinel.sha256
     digest factory
     exitcode va-agent snapshot create before-upgrade
     mkdir -p /usr/local/va-added && for i in $(seq 1 40); do head -c 65536 /dev/urandom >/usr/local/va-added/f$i; done
     rm -rf /usr/share/doc/[a-d]*
     for f in /boot/vmlinuz-* /boot/initrd.img-*; do head -c 1048576 /dev/urandom >"$f"; done
     digest changed
     va-agent snapshot list
     sync; exitcode va-agent snapshot merge before-upgrade; sleep 600 ;;
  2) digest merged; same factory merged
     systemctl stop va-snapshot-watch.timer
     exitcode va-agent snapshot create tiny --lv data
     dd if=/dev/urandom of=/data/va-fill bs=1M count=900 status=none; sync; sleep 5
     va-agent snapshot list --json | tr -d '\\n'; echo
     exitcode va-agent snapshot merge tiny --no-reboot
     rm -f /data/va-fill ;;
  3) va-agent snapshot list --json | tr -d '\\n'; echo
     exitcode va-agent snapshot delete tiny
     exitcode va-agent install /run/va-slot-cmd/good.tar ;;
  4) exitcode va-agent rescue factory-reset --keep-data --yes; sleep 600 ;;
  5) digest reset; same factory reset
     sha256sum -c /data/va-sentinel.sha256 >/dev/null; echo "VA-DATA-INTACT $?"
     : >"$(readlink -f /vmlinuz)"; sync
     echo "VA-BOTH-UNBOOTABLE" ;;
  6) digest before-cut
     exitcode va-agent snapshot create cut
     head -c 314572800 /dev/urandom >/usr/local/va-big; rm -rf /usr/share/doc/[e-m]*; sync
     exitcode va-agent snapshot merge cut; sleep 600 ;;
  7) digest after-cut; same before-cut after-cut
     sha256sum -c /data/va-sentinel.sha256 >/dev/null; echo "VA-DATA-INTACT $?"
     va-agent snapshot list; exit 0 ;;
esac
sync
systemctl reboot
sleep 600
`;
}

export async function rescueLifecycle(shared: { newOs: NewOs; old: OldAppliance; tiny: TinySystem; artifacts: string }): Promise<ScenarioResult> {
  const variant = { name: NAME, bus: "virtio" as const, sizeFactor: SIZE_FACTOR, compression: "zstd" as const };
  try {
    const signed = buildSignedBundle(shared.newOs, shared.tiny, join(shared.artifacts, "vendor-rescue"), { manifest: RESCUE_MANIFEST });
    const migrated = await clickPath({ ...shared, signed, sizeFactor: SIZE_FACTOR, name: NAME, lvmBytesBeyondLayout: BEYOND_LAYOUT });
    if (migrated.error || !migrated.checks.every((c) => c.ok)) return { ...migrated, variant };
    const cycle = await rescueCycleOn(join(shared.artifacts, NAME), shared);
    return { variant, timings: [...migrated.timings, ...cycle.timings], checks: [...migrated.checks, ...cycle.checks] };
  } catch (error) {
    return { variant, timings: [], checks: [], ...failure(error) };
  }
}

export async function rescueCycleOn(dir: string, shared: { newOs: NewOs; old: OldAppliance; tiny: TinySystem }): Promise<{ timings: Timing[]; checks: Check[] }> {
  mkdirSync(dir, { recursive: true });
  const timings: Timing[] = [];
  const bundles = await buildSlotBundles(shared.newOs, shared.tiny, join(dir, "vendor"));
  const commandDisk = await makeCommandDisk(join(dir, "rescue-command.img"), rescueScript(randomUUID()), { files: { "good.tar": bundles.good }, label: "VASLOTCMD" });
  const boot = (n: number) =>
    startVm({
      name: `${NAME}-${n}`,
      disks: [
        { path: join(dir, "disk.qcow2"), format: "qcow2", bus: "virtio" },
        { path: commandDisk, format: "raw", bus: "virtio" },
      ],
      nic: { mac: shared.old.facts.mac },
      serialLog: join(dir, `rescue-serial-${n}.log`),
      serialInput: true,
      extraArgs: ENTROPY,
    });
  const t0 = performance.now();
  const phase = async (what: string, wait: () => Promise<unknown>) => {
    const start = performance.now();
    await wait();
    timings.push({ phase: what, seconds: (performance.now() - start) / 1000 });
  };
  const vm = boot(1);
  await phase("boot 1 (A): factory point, snapshot, changes, merge requested", () => step(vm, 1, /VA-EXIT snapshot merge \d+/));
  await phase("the rescue system merges, reboot → boot 2 (A)", () => step(vm, 2, /VA-EXIT snapshot merge \d+/, 30));
  await phase("boot 3 (A): invalid snapshot deleted, install 13.1 into B", () => step(vm, 3, /VA-EXIT install \S+ \d+/));
  await phase("boot 4 (B): factory reset requested", () => step(vm, 4, /VA-EXIT rescue factory-reset \d+/));
  await phase("the rescue system resets, reboot → boot 5 (A, factory release)", () => step(vm, 5, /VA-BOTH-UNBOOTABLE/, 30));
  await phase("both slots unbootable → the rescue system by itself", () => vm.waitFor(RESCUE_PROMPT, 20 * 60, { ignoreFatal: true }));
  await vm.type("va-agent rescue install --label VASLOTCMD --path good.tar; echo \"VA-RESCUE-INSTALL-EXIT $?\"\n");
  await phase("rescue install of 13.1 from the command disk", () => vm.waitFor(/VA-RESCUE-INSTALL-EXIT \d+/, 30 * 60, { ignoreFatal: true }));
  await vm.type("reboot -f\n");
  await phase("boot 6 (B): snapshot, big change, merge requested", () => step(vm, 6, /VA-EXIT snapshot merge \d+/));
  await phase("the rescue system starts merging", () => vm.waitFor(/merg\w* [^\r\n]*\d+(\.\d+)? ?%/i, 20 * 60));
  await Bun.sleep(3000);
  await vm.kill();
  const second = boot(2);
  await phase("after the power cut: the rescue system finishes the merge → boot 7 (B)", () => step(second, 7, /VA-DATA-INTACT \d+/, 30));
  await waitExit(second, 300);
  timings.push({ phase: "rescue life cycle in all", seconds: (performance.now() - t0) / 1000 });
  return { timings, checks: judgeRescueCycle(readFileSync(join(dir, "rescue-serial-1.log"), "latin1"), readFileSync(join(dir, "rescue-serial-2.log"), "latin1")) };
}

async function step(vm: Vm, n: number, then: RegExp, thenMinutes = 20): Promise<void> {
  await vm.waitFor(new RegExp(`VA-RESCUE-STEP ${n} slot=`), 25 * 60);
  await vm.waitFor(then, thenMinutes * 60);
}

interface SlotBoot {
  step: number;
  slot: string;
  console: string;
}

/** The console cut at each run.sh step line, back to the GRUB line before it. */
function stepsIn(serial: string): SlotBoot[] {
  return [...serial.matchAll(/VA-RESCUE-STEP (\d+) slot=(\w*)/g)].map((m, i, all) => {
    const grub = serial.lastIndexOf("va-boot:", m.index);
    const end = all[i + 1] ? serial.lastIndexOf("va-boot:", all[i + 1]!.index) : serial.length;
    return { step: Number(m[1]), slot: m[2] ?? "", console: serial.slice(grub < 0 ? m.index : grub, end) };
  });
}

export function judgeRescueCycle(first: string, second: string): Check[] {
  const serial = `${first}\n${second}`;
  const steps = stepsIn(serial);
  const at = (n: number) => steps.find((s) => s.step === n);
  const exit = (what: string, n?: number) => new RegExp(`VA-EXIT ${what}${what === "install" ? " \\S+" : ""} (\\d+)`).exec(n === undefined ? serial : (at(n)?.console ?? ""))?.[1];
  const same = (a: string, b: string) => ["usr", "etc", "boot"].map((tree) => new RegExp(`VA-SAME ${a} ${b} ${tree} (\\w+)`).exec(serial)?.[1] ?? "?");
  const rescueHashes = [1, 6].map((n) => String(parseProbeFacts(at(n)?.console ?? "")["rescue-sha256"] ?? ""));
  const status5 = slotStatusOf(parseProbeFacts(at(5)?.console ?? ""));
  const a5 = status5?.slots.find((s) => s.name === "A");
  const b5 = status5?.slots.find((s) => s.name === "B");
  const invalidListing = /"invalid":\s*true/.test(at(2)?.console ?? "");
  const merging = first.slice(first.indexOf("VA-EXIT snapshot merge", first.indexOf("VA-RESCUE-STEP 6")));
  const unbootable = first.slice(first.indexOf("VA-BOTH-UNBOOTABLE"));
  return [
    { name: "the factory point is recorded after the first healthy boot (factory.json)", ok: /VA-FACTORY \{.*"sha256":\s*"[0-9a-f]{64}"/.test(serial), seen: /VA-FACTORY [^\r\n]{0,160}/.exec(serial)?.[0] ?? "none" },
    { name: "`snapshot create before-upgrade` exits 0", ok: exit("snapshot create", 1) === "0", seen: `exit ${exit("snapshot create", 1)}` },
    { name: "`snapshot merge` of the booted slot hands over to the rescue system", ok: /va-boot: rescue task merge pending/.test(first), seen: /va-boot: rescue[^\r\n]*/.exec(first)?.[0] ?? "no rescue line from GRUB" },
    { name: "after the merge the box boots slot A again", ok: at(2)?.slot === "A", seen: `step 2 on ${at(2)?.slot ?? "nothing"}` },
    { name: "root (usr, etc) and the slot's /boot exactly as before the change (file digests)", ok: same("factory", "merged").every((v) => v === "yes"), seen: `usr etc boot: ${same("factory", "merged").join(" ")}` },
    { name: "an overflowed snapshot is listed as invalid", ok: invalidListing, seen: invalidListing ? "invalid: true" : "no invalid snapshot in the listing" },
    { name: "`snapshot merge` refuses it (exit 18)", ok: exit("snapshot merge", 2) === "18", seen: `exit ${exit("snapshot merge", 2)}` },
    { name: "the box still boots with it, and `snapshot delete` removes it", ok: at(3)?.slot === "A" && exit("snapshot delete", 3) === "0", seen: `step 3 on ${at(3)?.slot}; delete exit ${exit("snapshot delete", 3)}` },
    { name: "install of 13.1 into B exits 0, B boots 13.1", ok: exit("install", 3) === "0" && at(4)?.slot === "B", seen: `exit ${exit("install", 3)}; step 4 on ${at(4)?.slot}` },
    { name: "factory reset from the rescue system: the box boots A with the factory release", ok: at(5)?.slot === "A" && a5?.release === "13.0" && a5.good === true, seen: `step 5 on ${at(5)?.slot}; A ${a5?.release} ${a5?.good ? "good" : "bad"}` },
    { name: "root and /boot as at first install (file digests)", ok: same("factory", "reset").every((v) => v === "yes"), seen: `usr etc boot: ${same("factory", "reset").join(" ")}` },
    { name: "slot B empty after the reset", ok: b5?.state === "empty" && b5.good === false, seen: `B ${b5?.state} ${b5?.good ? "good" : "not good"}` },
    { name: "/data kept by the reset (sentinel's SHA-256)", ok: /VA-DATA-INTACT 0/.test(at(5)?.console ?? ""), seen: /VA-DATA-INTACT \d+/.exec(at(5)?.console ?? "")?.[0] ?? "none" },
    { name: "both slots unbootable → the rescue system came up by itself", ok: RESCUE_PROMPT.test(unbootable) && /va-boot: (no slot qualifies|slot A try)/.test(unbootable), seen: /va-boot: [^\r\n]*/.exec(unbootable)?.[0] ?? "no va-boot line" },
    { name: "`rescue install` from the second disk exits 0", ok: /VA-RESCUE-INSTALL-EXIT 0/.test(first), seen: /VA-RESCUE-INSTALL-EXIT \d+/.exec(first)?.[0] ?? "none" },
    { name: "then a good slot boots: B with 13.1", ok: at(6)?.slot === "B", seen: `step 6 on ${at(6)?.slot ?? "nothing"}` },
    { name: "the rescue files' hashes unchanged after two slot installs", ok: /^[0-9a-f]{64} /.test(rescueHashes[0]!) && rescueHashes[0] === rescueHashes[1], seen: rescueHashes.map((h) => h.slice(0, 16)).join(" vs ") },
    { name: "the power was cut while the rescue system merged", ok: /merg\w* [^\r\n]*\d+(\.\d+)? ?%/i.test(merging), seen: /merg\w* [^\r\n]*%/i.exec(merging)?.[0] ?? "no merge progress seen" },
    { name: "after the cut the merge finished and B booted", ok: at(7)?.slot === "B", seen: `step 7 on ${at(7)?.slot ?? "nothing"}` },
    { name: "root as before the change, after the cut (file digests)", ok: same("before-cut", "after-cut").every((v) => v === "yes"), seen: `usr etc boot: ${same("before-cut", "after-cut").join(" ")}` },
    { name: "/data intact at the end", ok: /VA-DATA-INTACT 0/.test(at(7)?.console ?? ""), seen: /VA-DATA-INTACT \d+/.exec(at(7)?.console ?? "")?.[0] ?? "none" },
  ];
}
