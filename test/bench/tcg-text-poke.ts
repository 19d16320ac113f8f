// Provokes the emulator fault behind the suite's "Oops: int3" panics (issue 12) on purpose, so each
// emulator setting can be judged in minutes instead of hundreds of boots.
//
// A guest (the new OS's kernel, or the old one's, with a busybox initramfs) flips the kernel's
// `sched_schedstats` static key thousands of times — each flip rewrites the scheduler's hot paths
// through int3 (text_poke_bp), exactly what the kernel does when its clocksource watchdog gives up
// on the TSC mid-boot — while the other vCPUs schedule as hard as they can. On real CPUs this is
// safe; an emulator that lets a vCPU run a stale translation of patched code oopses on int3.
//
//   bun test/bench/tcg-text-poke.ts [--kernel new|old] [--runs 5] [--flips 3000] [--jsonl FILE] [--label TEXT]
//
// The emulator settings are the suite's; VA_QEMU, VA_QEMU_FIRMWARE, VA_SMP, VA_TCG_THREAD override them.

import { appendFileSync, chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { run } from "../assets/host.ts";
import { buildNewOs } from "../assets/new-os.ts";
import { buildOldAppliance } from "../assets/old-appliance.ts";
import { VmWaitError } from "../e2e/console-watch.ts";
import { emulatorSettings, killAllVms, startVm } from "../e2e/qemu.ts";

const BUSYBOX = "/bin/busybox";

function initScript(flips: number): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
knob=/proc/sys/kernel/sched_schedstats
[ -w $knob ] || { echo "POKE-ERROR no $knob"; poweroff -f; }
cpus=$(grep -c ^processor /proc/cpuinfo)
echo "POKE-START cpus=$cpus flips=${flips}"
# Every other vCPU forks, sleeps and wakes: the scheduler paths the flips rewrite run all the time.
i=1; while [ $i -lt $cpus ]; do ( while :; do /bin/true; usleep 1; done ) & i=$((i+1)); done
n=0
while [ $n -lt ${flips} ]; do echo 1 >$knob; echo 0 >$knob; n=$((n+1)); [ $((n % 500)) -eq 0 ] && echo "POKE-PROGRESS $n"; done
echo "POKE-DONE $n"
poweroff -f
`;
}

async function initramfs(dir: string, flips: number): Promise<string> {
  const root = join(dir, "root");
  rmSync(root, { recursive: true, force: true });
  for (const sub of ["bin", "proc", "sys", "dev"]) mkdirSync(join(root, sub), { recursive: true });
  copyFileSync(BUSYBOX, join(root, "bin/busybox"));
  writeFileSync(join(root, "init"), initScript(flips));
  chmodSync(join(root, "init"), 0o755);
  const out = join(dir, "poke-initramfs.cpio");
  await run(["bash", "-c", `cd ${root} && find . | cpio -o -H newc --quiet > ${out}`]);
  return out;
}

async function kernelOf(which: string): Promise<string> {
  if (which === "new") return (await buildNewOs()).kernel;
  const old = await buildOldAppliance();
  const boot = join(old.dir, "..", readdirSync(join(old.dir, "..")).find((d) => d.startsWith("old-appliance-debootstrap-"))!, "root", "boot");
  return join(boot, readdirSync(boot).find((f) => f.startsWith("vmlinuz-"))!);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      kernel: { type: "string", default: "new" },
      runs: { type: "string", default: "5" },
      flips: { type: "string", default: "3000" },
      jsonl: { type: "string" },
      label: { type: "string" },
    },
  });
  const emulator = emulatorSettings();
  const label = values.label ?? `${emulator.binary} smp=${emulator.smp} thread=${emulator.thread}`;
  const dir = resolve(join("artifacts", `tcg-text-poke-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  mkdirSync(dir, { recursive: true });
  const kernel = await kernelOf(values.kernel!);
  const initrd = await initramfs(dir, Number(values.flips));
  const counts = { done: 0, flake: 0, other: 0 };
  for (let i = 1; i <= Number(values.runs); i++) {
    const vm = startVm({ name: `poke-${i}`, disks: [], kernel, initrd, append: "console=ttyS0,115200 panic=-1 quiet", noReboot: true, serialLog: join(dir, `serial-${i}.log`), memMiB: 512 });
    let outcome: keyof typeof counts = "other";
    let detail = "";
    let flipsDone = 0;
    try {
      const end = await vm.waitFor(/POKE-DONE (\d+)|POKE-ERROR[^\n]*/, 600, { stallSec: 300 });
      if (end.match[1]) {
        outcome = "done";
        flipsDone = Number(end.match[1]);
      } else detail = end.match[0];
    } catch (error) {
      detail = (error as Error).message.split("\n")[0]!;
      if (error instanceof VmWaitError && error.flake) outcome = "flake";
      flipsDone = Number([...vm.log().matchAll(/POKE-PROGRESS (\d+)/g)].pop()?.[1] ?? 0);
    } finally {
      await vm.kill();
    }
    counts[outcome]++;
    const seconds = (Date.now() - vm.startedAt) / 1000;
    console.log(`[poke] ${label} run ${i}: ${outcome} after ${flipsDone} flips in ${seconds.toFixed(0)} s (load ${loadavg()[0]!.toFixed(2)})${detail ? `: ${detail}` : ""}`);
    if (values.jsonl) appendFileSync(values.jsonl, `${JSON.stringify({ label, kernel: values.kernel, run: i, outcome, flipsDone, seconds, load: loadavg()[0], detail })}\n`);
  }
  console.log(`\n| settings | kernel | runs | completed | int3 oops (emulator) | other failure |\n|---|---|---|---|---|---|\n| ${label} | ${values.kernel} | ${values.runs} | ${counts.done} | ${counts.flake} | ${counts.other} |`);
  return 0;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    async (error) => {
      console.error(`[poke] ERROR: ${(error as Error).message}`);
      await killAllVms();
      process.exit(1);
    },
  );
}
