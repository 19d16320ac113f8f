import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstFatal, TCG_STALE_INT3, VmWaitError } from "../e2e/console-watch.ts";
import { diskSpaceNote, emulatorSettings, killAllVms, qemuArgs, serialSocketPath, startVm } from "../e2e/qemu.ts";
import { withOneRerunOnFlake } from "../e2e/run-e2e.ts";
import type { ScenarioResult } from "../e2e/scenario.ts";

// The console seen in the click-path failure of issue 12 (trixie 6.12 kernel, QEMU 7.2, -smp 2, busy host).
const INT3_PANIC = [
  "[    5.912345] virtio_net virtio0 enp0s2: renamed from eth0",
  "[    6.104211] Oops: int3: 0000 [#1] PREEMPT SMP PTI",
  "[    6.104900] CPU: 1 UID: 0 PID: 0 Comm: swapper/1 Not tainted 6.12.57+deb13-amd64 #1  Debian 6.12.57-1",
  "[    6.105422] RIP: 0010:sched_clock_cpu+0x9/0x1d0",
  "[    6.117001] Kernel panic - not syncing: Fatal exception in interrupt",
].join("\n");

describe("console watcher (issue 12)", () => {
  test("an int3 oops is fatal and carries the emulator-flake signature", () => {
    const event = firstFatal(`boot\n${INT3_PANIC}\n`);
    expect(event?.kind).toBe("kernel oops");
    expect(event?.line).toBe("[    6.104211] Oops: int3: 0000 [#1] PREEMPT SMP PTI");
    expect(event?.flake).toEqual(TCG_STALE_INT3);
  });

  test("the panic that ends an int3 oops is the same flake; any other panic is the product's", () => {
    const afterOops = INT3_PANIC.slice(INT3_PANIC.indexOf("[    6.117001]"));
    const withOopsBefore = INT3_PANIC.slice(0, INT3_PANIC.indexOf("Oops")) + "x\n" + INT3_PANIC.slice(INT3_PANIC.indexOf("Oops"));
    expect(firstFatal(withOopsBefore, withOopsBefore.indexOf("[    6.117001]"))?.flake).toEqual(TCG_STALE_INT3);
    const vfs = "[    2.1] VFS: Unable to mount root fs on unknown-block(0,0)\n[    2.2] Kernel panic - not syncing: VFS: Unable to mount root fs\n";
    expect(firstFatal(vfs)?.kind).toBe("kernel panic");
    expect(firstFatal(vfs)?.flake).toBeUndefined();
    const gpf = "[    3.0] Oops: general protection fault, probably for non-canonical address\n";
    expect(firstFatal(gpf)?.kind).toBe("kernel oops");
    expect(firstFatal(gpf)?.flake).toBeUndefined();
    expect(firstFatal(afterOops)?.flake).toBeUndefined(); // no int3 oops in sight: not the flake
  });

  test("GRUB's rescue prompt and every emergency shell are fatal; an ordinary boot is not", () => {
    expect(firstFatal("error: no such partition.\nEntering rescue mode...\ngrub rescue> ")?.kind).toBe("GRUB rescue prompt");
    expect(firstFatal("You are in emergency mode. After logging in, type \"journalctl -xb\"")?.kind).toBe("emergency shell");
    expect(firstFatal("Cannot open access to console, the root account is locked.")?.kind).toBe("emergency shell");
    expect(firstFatal("## va-agent tiny system: interactive shell")?.kind).toBe("emergency shell");
    expect(firstFatal("Welcome to Debian GNU/Linux 13 (trixie)!\n[  OK  ] Reached target multi-user.target\npanic=10 in cmdline\n")).toBeUndefined();
  });

  test("the earliest event wins, and `from` skips what a previous wait already consumed", () => {
    const text = "grub rescue> \nKernel panic - not syncing: x\n";
    expect(firstFatal(text)?.kind).toBe("GRUB rescue prompt");
    expect(firstFatal(text, text.indexOf("Kernel"))?.kind).toBe("kernel panic");
  });
});

describe("a VM's wait ends on the console, not on the clock (issue 12)", () => {
  const dir = mkdtempSync(join(tmpdir(), "va-console-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in for QEMU: writes `lines` to the serial file named by `-serial file:…`, then sleeps. */
  const fakeQemu = (name: string, lines: string[], sleepSec = 600) => {
    const path = join(dir, name);
    const script = ["#!/bin/bash", 'for a in "$@"; do case $a in file:*) serial=${a#file:};; esac; done', `printf '%s\\n' ${lines.map((l) => `'${l}'`).join(" ")} >>"$serial"`, `exec sleep ${sleepSec}`].join("\n");
    writeFileSync(path, script);
    chmodSync(path, 0o755);
    return path;
  };

  const withQemu = async <T>(binary: string, body: () => Promise<T>): Promise<T> => {
    const saved = process.env.VA_QEMU;
    process.env.VA_QEMU = binary;
    try {
      return await body();
    } finally {
      if (saved === undefined) delete process.env.VA_QEMU;
      else process.env.VA_QEMU = saved;
    }
  };

  test("a panic line ends the wait at once and names the reason; killAllVms powers the guest off", async () => {
    await withQemu(fakeQemu("panics", INT3_PANIC.split("\n")), async () => {
      const vm = startVm({ name: "panicking", disks: [], serialLog: join(dir, "panic.log") });
      const started = Date.now();
      const error = await vm.waitFor(/VA-PROBE-END/, 900).catch((e) => e);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(error).toBeInstanceOf(VmWaitError);
      expect(error.reason).toBe("fatal console event");
      expect(error.message).toContain("kernel oops on the console");
      expect(error.message).toContain("tcg-stale-int3");
      expect(error.flake?.signature).toBe("tcg-stale-int3");
      expect(await killAllVms()).toBe(1);
      expect(await vm.exited).toBe(137);
      expect(await killAllVms()).toBe(0);
    });
  });

  test("a pattern that comes before a fatal event still matches", async () => {
    await withQemu(fakeQemu("up-then-panic", ["VA-PROBE os-release", "Kernel panic - not syncing: later"]), async () => {
      const vm = startVm({ name: "up", disks: [], serialLog: join(dir, "up.log") });
      expect((await vm.waitFor(/VA-PROBE os-release/, 60)).match[0]).toBe("VA-PROBE os-release");
      const error = await vm.waitFor(/VA-PROBE-END/, 60).catch((e) => e);
      expect(error.reason).toBe("fatal console event");
      expect(error.flake).toBeUndefined();
      expect(error.message).toContain("a product failure");
      await killAllVms();
    });
  });

  test("a silent console is reported as stalled with the host's load average", async () => {
    await withQemu(fakeQemu("silent", ["booting"]), async () => {
      const serialLog = join(dir, "silent.log");
      const vm = startVm({ name: "silent", disks: [], serialLog });
      // The silence is timed from the wait's start: begin it after the line, however slow the fake starts.
      while (!(existsSync(serialLog) && readFileSync(serialLog, "utf8").includes("booting"))) await Bun.sleep(20);
      const error = await vm.waitFor(/never/, 900, { stallSec: 1 }).catch((e) => e);
      expect(error.reason).toBe("stalled");
      expect(error.message).toMatch(/STALLED: no console output for \d+ s \(host load average [\d.]+ [\d.]+ [\d.]+\)/);
      expect(error.message).toContain("booting");
      await killAllVms();
    });
  });

  test("emulator settings: defaults, overrides, and refusals of nonsense", () => {
    expect(emulatorSettings({})).toEqual({ binary: "qemu-system-x86_64", firmwareDirs: [], smp: 1, thread: "multi" });
    const custom = emulatorSettings({ VA_QEMU: "/opt/q/qemu", VA_QEMU_FIRMWARE: "/opt/q/a:/opt/q/b", VA_SMP: "1", VA_TCG_THREAD: "single" });
    expect(qemuArgs({ name: "x", disks: [], serialLog: "/tmp/s" }, custom).slice(0, 12)).toEqual(["-name", "x", "-accel", "tcg,thread=single", "-cpu", "Nehalem", "-smp", "1", "-L", "/opt/q/a", "-L", "/opt/q/b"]);
    expect(() => emulatorSettings({ VA_SMP: "two" })).toThrow(/VA_SMP=two/);
    // With input the console is a socket QEMU serves, logged to the same file; without, a plain file.
    const withInput = qemuArgs({ name: "x", disks: [], serialLog: "/tmp/s", serialInput: true }, custom);
    expect(withInput).toContain(`socket,id=ser0,path=${serialSocketPath("/tmp/s")},server=on,wait=off,logfile=/tmp/s`);
    expect(withInput).toContain("chardev:ser0");
    expect(withInput).not.toContain("file:/tmp/s");
    expect(serialSocketPath("/tmp/s").length).toBeLessThan(108);
    expect(qemuArgs({ name: "x", disks: [], serialLog: "/tmp/s" }, custom)).toContain("file:/tmp/s");
    expect(() => emulatorSettings({ VA_TCG_THREAD: "many" })).toThrow(/want multi or single/);
  });
});

describe("a scenario is rerun once for a known emulator flake, never for anything else (issue 12)", () => {
  const variant = { name: "v", bus: "virtio" as const, sizeFactor: 1, compression: "zstd" as const };
  const passed: ScenarioResult = { variant, checks: [{ name: "c", ok: true, seen: "" }], timings: [] };
  const flaked: ScenarioResult = { variant, checks: [], timings: [], error: "oops", flake: { vm: "new-v", signature: "tcg-stale-int3" } };
  const productPanic: ScenarioResult = { variant, checks: [], timings: [], error: "Kernel panic - not syncing: VFS" };
  const attempts = (...results: ScenarioResult[]) => {
    const queue = [...results];
    return { next: async () => queue.shift()!, left: () => queue.length };
  };

  test("flake then pass: one rerun, said with the VM and the signature", async () => {
    const notes: string[] = [];
    const sequence = attempts(flaked, passed);
    expect(await withOneRerunOnFlake("v", sequence.next, (n) => notes.push(n))).toBe(passed);
    expect(notes).toEqual(["v: rerun once after emulator flake tcg-stale-int3 on VM new-v"]);
  });

  test("a product panic is not rerun; a second flake is not rerun again and fails", async () => {
    const notes: string[] = [];
    const product = attempts(productPanic, passed);
    expect(await withOneRerunOnFlake("v", product.next, (n) => notes.push(n))).toBe(productPanic);
    expect(product.left()).toBe(1);
    const twice = attempts(flaked, flaked, passed);
    const result = await withOneRerunOnFlake("v", twice.next, (n) => notes.push(n));
    expect(result.error).toContain("twice in a row");
    expect(twice.left()).toBe(1);
    expect(notes.length).toBe(1);
  });
});

test("a stall report names a filesystem too full for the guests' disk images to grow", () => {
  expect(diskSpaceNote(["/tmp/x.qcow2"], 0)).toBe("");
  expect(diskSpaceNote(["/tmp/a.qcow2", "/tmp/b.qcow2"], Number.MAX_SAFE_INTEGER)).toMatch(/^; only \d+ MiB free where \/tmp is: QEMU pauses a guest whose disk image cannot grow/);
});
