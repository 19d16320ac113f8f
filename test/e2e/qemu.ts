// Generic QEMU runner for the e2e harness.
//
// Always software emulation (no usable KVM here), `-cpu Nehalem`; the emulator binary, vCPU count
// and TCG threading come from `emulatorSettings()` (docs/QEMU.md says which and why). No display;
// the first serial port is written to a log file the caller chooses (kept after the run).
// `waitFor` polls that log; matches are searched from a cursor that advances past each match, so
// consecutive `waitFor` calls assert an ORDER of events on the console. A wait follows progress:
// it ends at once on a fatal console event (console-watch.ts), when the console has been silent
// for `stallSec`, or when the VM exits; a console that keeps printing keeps it alive.

import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, fstatSync, statfsSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { loadavg, constants as osConstants, tmpdir } from "node:os";
import { type EmulatorFlake, firstFatal, VmWaitError } from "./console-watch.ts";

export type DiskBus = "virtio" | "sata" | "nvme";

export interface VmDisk {
  path: string;
  format: "qcow2" | "raw";
  bus: DiskBus;
  readonly?: boolean;
  /** Optional QEMU drive cache mode (default: QEMU's default, writeback). */
  cache?: "none" | "writeback" | "unsafe" | "directsync" | "writethrough";
  /** The firmware's boot order: SeaBIOS boots only the first hard disk of it (bus order without one); virtio only. */
  bootIndex?: number;
}

export interface VmNic {
  mac: string;
  model?: "virtio-net-pci" | "e1000";
}

export interface VmOptions {
  name: string;
  disks: VmDisk[];
  kernel?: string;
  initrd?: string;
  append?: string;
  /** MiB of guest RAM, default 2048. */
  memMiB?: number;
  /** One NIC on QEMU user networking with `restrict=on` (no way out of the VM). */
  nic?: VmNic;
  /** More NICs after `nic` (bond ports, a disabled NIC), each on a user network of its own. */
  moreNics?: VmNic[];
  /** Path of the serial console log (directory is created). */
  serialLog: string;
  /** Add `-no-reboot`: a guest reboot makes QEMU exit instead. */
  noReboot?: boolean;
  extraArgs?: string[];
  /** Path of a file receiving QEMU's own stdout/stderr (default: `<serialLog>.qemu.log`). */
  qemuLog?: string;
  /** The serial console also takes input (Vm.type): an operator at the rescue system's shell. */
  serialInput?: boolean;
}

export interface WaitResult {
  match: RegExpMatchArray;
  /** Seconds since VM start when the match was seen (poll granularity ~0.2 s). */
  seconds: number;
}

export interface WaitOptions {
  /** Seconds of console silence after which the VM counts as stalled (default DEFAULT_STALL_SEC). */
  stallSec?: number;
  /** Do not end the wait on a panic, oops, rescue prompt or emergency shell (the caller counts them). */
  ignoreFatal?: boolean;
}

export interface Vm {
  name: string;
  args: string[];
  serialLog: string;
  startedAt: number;
  /** Resolves with QEMU's exit code (or 128+signal). */
  exited: Promise<number>;
  /**
   * Wait until `re` matches the serial log after the current cursor; advances the cursor.
   * `timeoutSec` is what a quiet machine needs; the wait gives up only after PROGRESS_CAP_FACTOR
   * times that while the console keeps printing. Rejects with a VmWaitError.
   */
  waitFor(re: RegExp, timeoutSec: number, options?: WaitOptions): Promise<WaitResult>;
  /** The longest gap between two console writes so far, in seconds (for choosing stall limits). */
  longestSilenceSec(): number;
  /** Whole serial log so far. */
  log(): string;
  /** Last `n` lines of the serial log. */
  tail(n?: number): string;
  /** Hard power-off (SIGKILL to QEMU). Resolves when QEMU has exited. */
  kill(): Promise<number>;
  /** Types on the serial console, as an operator would (needs VmOptions.serialInput). */
  type(text: string): Promise<void>;
}

/**
 * Console silence that counts as a stall. The agent prints a line at least every minute while a
 * command runs, guests print while they boot: 7 minutes of silence is a hang even with the host's
 * cores shared with three other VMs (phases stretch 2–4× then).
 */
export const DEFAULT_STALL_SEC = 7 * 60;
/** A busy host stretches every phase up to about 4×: the wall-time backstop for a console that keeps printing. */
export const PROGRESS_CAP_FACTOR = 4;

/** bun reads getrandom() at start: without an entropy source a guest blocks until its crng is initialised. */
export const ENTROPY = ["-device", "virtio-rng-pci"];

export interface EmulatorSettings {
  binary: string;
  /** Extra `-L` firmware directories (a QEMU unpacked outside /usr). */
  firmwareDirs: string[];
  smp: number;
  thread: "multi" | "single";
}

/**
 * The emulator every VM of the suite runs on (docs/QEMU.md has the measurements behind it).
 * VA_QEMU, VA_QEMU_FIRMWARE (colon-separated), VA_SMP and VA_TCG_THREAD override it for
 * measuring other settings (test/load/boot-loop.ts, test/bench/tcg-text-poke.ts).
 */
export function emulatorSettings(env: Record<string, string | undefined> = process.env): EmulatorSettings {
  const smp = Number(env.VA_SMP ?? DEFAULT_SMP);
  if (!Number.isInteger(smp) || smp < 1 || smp > 8) throw new Error(`VA_SMP=${env.VA_SMP}: want a vCPU count from 1 to 8`);
  const thread = env.VA_TCG_THREAD ?? DEFAULT_TCG_THREAD;
  if (thread !== "multi" && thread !== "single") throw new Error(`VA_TCG_THREAD=${thread}: want multi or single`);
  return {
    binary: env.VA_QEMU ?? "qemu-system-x86_64",
    firmwareDirs: (env.VA_QEMU_FIRMWARE ?? "").split(":").filter(Boolean),
    smp,
    thread,
  };
}

const DEFAULT_SMP = 1;
const DEFAULT_TCG_THREAD = "multi";

/** Build the QEMU argument vector (exported for unit tests and for logging). */
export function qemuArgs(opts: VmOptions, emulator: EmulatorSettings = emulatorSettings()): string[] {
  const a: string[] = [
    "-name", opts.name,
    "-accel", `tcg,thread=${emulator.thread}`,
    "-cpu", "Nehalem",
    "-smp", String(emulator.smp),
    ...emulator.firmwareDirs.flatMap((dir) => ["-L", dir]),
    "-m", String(opts.memMiB ?? 2048),
    "-nographic",
    "-monitor", "none",
    "-parallel", "none",
    // With input: a socket QEMU listens on, its output logged to the same file as without.
    ...(opts.serialInput
      ? ["-chardev", `socket,id=ser0,path=${serialSocketPath(opts.serialLog)},server=on,wait=off,logfile=${opts.serialLog}`, "-serial", "chardev:ser0"]
      : ["-serial", `file:${opts.serialLog}`]),
  ];
  if (opts.noReboot) a.push("-no-reboot");
  if (opts.kernel) a.push("-kernel", opts.kernel);
  if (opts.initrd) a.push("-initrd", opts.initrd);
  if (opts.append !== undefined) a.push("-append", opts.append);

  let ahci = false;
  let sataPort = 0;
  let nvmeN = 0;
  opts.disks.forEach((d, i) => {
    if (d.path.includes(",")) throw new Error(`disk path must not contain a comma: ${d.path}`);
    const common = `file=${d.path},format=${d.format}` + (d.readonly ? ",readonly=on" : "") + (d.cache ? `,cache=${d.cache}` : "");
    const id = `d${i}`;
    switch (d.bus) {
      case "virtio":
        if (d.bootIndex === undefined) a.push("-drive", `${common},if=virtio`);
        else a.push("-drive", `if=none,id=${id},${common}`, "-device", `virtio-blk-pci,drive=${id},bootindex=${d.bootIndex}`);
        break;
      case "sata":
        if (!ahci) {
          a.push("-device", "ahci,id=ahci0");
          ahci = true;
        }
        a.push("-drive", `if=none,id=${id},${common}`, "-device", `ide-hd,drive=${id},bus=ahci0.${sataPort++}`);
        break;
      case "nvme":
        a.push("-drive", `if=none,id=${id},${common}`, "-device", `nvme,serial=vaNVMe${nvmeN++},drive=${id}`);
        break;
      default:
        throw new Error(`unknown bus ${(d as VmDisk).bus}`);
    }
  });

  const nics = opts.nic ? [opts.nic, ...(opts.moreNics ?? [])] : [];
  nics.forEach((nic, n) => a.push("-netdev", `user,id=n${n},restrict=on`, "-device", `${nic.model ?? "virtio-net-pci"},netdev=n${n},mac=${nic.mac}`));
  if (nics.length === 0) {
    a.push("-nic", "none");
  }
  if (opts.extraArgs) a.push(...opts.extraArgs);
  return a;
}

/** Beside the log, short enough for a socket address (108 bytes): one per serial log. */
export function serialSocketPath(serialLog: string): string {
  const id = createHash("sha256").update(serialLog).digest("hex").slice(0, 16);
  return join(tmpdir(), `va-serial-${id}.sock`);
}

/** The serial console's input: connected once, its output drained (QEMU would hold the guest's output back for a reader that does not read). */
function serialTyper(serialLog: string): (text: string) => Promise<void> {
  let socket: Promise<Socket> | undefined;
  const connected = () =>
    (socket ??= new Promise<Socket>((resolve, reject) => {
      const s = connect(serialSocketPath(serialLog), () => resolve(s));
      s.on("error", reject);
      s.on("data", () => {});
    }));
  return async (text) => {
    const s = await connected();
    await new Promise<void>((resolve, reject) => s.write(text, (error) => (error ? reject(error) : resolve())));
  };
}

/** QEMU pauses a guest whose disk image cannot grow (werror=enospc): a stall then names the full filesystem. */
const LOW_FREE_BYTES = 2 * 1024 ** 3;

export function diskSpaceNote(imagePaths: string[], minFree = LOW_FREE_BYTES): string {
  const notes = [...new Set(imagePaths.map((path) => dirname(path)))].flatMap((dir) => {
    const fs = statfsSync(dir);
    const free = fs.bavail * fs.bsize;
    return free < minFree ? [`only ${(free / 2 ** 20).toFixed(0)} MiB free where ${dir} is: QEMU pauses a guest whose disk image cannot grow; free space (old artifacts) and run again`] : [];
  });
  return notes.length ? `; ${notes.join("; ")}` : "";
}

export function startVm(opts: VmOptions): Vm {
  mkdirSync(dirname(opts.serialLog), { recursive: true });
  writeFileSync(opts.serialLog, ""); // QEMU appends/truncates; make sure a stale log is never read
  const args = qemuArgs(opts);
  const qemuLog = opts.qemuLog ?? `${opts.serialLog}.qemu.log`;
  const emulator = emulatorSettings();
  writeFileSync(qemuLog, `${emulator.binary} ${args.map((x) => JSON.stringify(x)).join(" ")}\n`);
  const outFd = openSync(qemuLog, "a");
  const startedAt = Date.now();
  const child: ChildProcess = spawn(emulator.binary, args, { stdio: ["ignore", outFd, outFd] });
  closeSync(outFd);
  liveVms.add(child);
  endVmsWithTheHarness();

  let exitCode: number | null = null;
  const exited = new Promise<number>((resolve) => {
    child.on("exit", (code, signal) => {
      liveVms.delete(child);
      exitCode = code ?? (signal ? 128 + ((osConstants.signals as Record<string, number>)[signal] ?? 0) : 1);
      refresh();
      writeFileSync(qemuLog, `exit ${exitCode} after ${((Date.now() - startedAt) / 1000).toFixed(0)} s; longest console silence ${(longestSilence / 1000).toFixed(0)} s\n`, { flag: "a" });
      resolve(exitCode);
    });
    child.on("error", (e) => {
      liveVms.delete(child);
      writeFileSync(qemuLog, `spawn error: ${e}\n`, { flag: "a" });
      exitCode = 127;
      resolve(127);
    });
  });

  // Incremental reader of the serial log; the time of its last growth is the VM's progress.
  let text = "";
  let readPos = 0;
  let lastOutputAt = startedAt;
  let longestSilence = 0;
  const refresh = () => {
    if (!existsSync(opts.serialLog)) return;
    const fd = openSync(opts.serialLog, "r");
    try {
      const size = fstatSync(fd).size;
      if (size > readPos) {
        const buf = Buffer.alloc(size - readPos);
        const n = readSync(fd, buf, 0, buf.length, readPos);
        readPos += n;
        text += buf.subarray(0, n).toString("latin1");
        const now = Date.now();
        longestSilence = Math.max(longestSilence, now - lastOutputAt);
        lastOutputAt = now;
      }
    } finally {
      closeSync(fd);
    }
  };
  const tail = (n = 40) => {
    refresh();
    return text.replace(/\r/g, "").split("\n").slice(-n).join("\n");
  };
  const qemuSaid = () => {
    try {
      return readFileSync(qemuLog, "utf8").split("\n").slice(1).join("\n").trim();
    } catch {
      return "";
    }
  };

  let cursor = 0;
  const waitFor = (re: RegExp, timeoutSec: number, wait: WaitOptions = {}): Promise<WaitResult> =>
    new Promise((resolve, reject) => {
      const stallSec = wait.stallSec ?? DEFAULT_STALL_SEC;
      const capSec = timeoutSec * PROGRESS_CAP_FACTOR;
      const waitStartedAt = Date.now();
      const flags = re.flags.replace("g", "").replace("y", "");
      const rx = new RegExp(re.source, flags);
      const fail = (reason: VmWaitError["reason"], what: string, flake?: EmulatorFlake) => {
        reject(new VmWaitError(`VM ${opts.name}: ${what} while waiting for ${re}; last serial lines (${opts.serialLog}):\n${tail(40)}`, opts.name, reason, flake));
      };
      const tick = () => {
        refresh();
        const m = text.slice(cursor).match(rx);
        const matchAt = m?.index === undefined ? Number.POSITIVE_INFINITY : cursor + m.index;
        const fatal = wait.ignoreFatal ? undefined : firstFatal(text, cursor);
        if (fatal && fatal.index < matchAt) {
          const flake = fatal.flake ? ` — known emulator flake ${fatal.flake.signature}: ${fatal.flake.why}` : " — not a known emulator flake: a product failure";
          cursor = fatal.index + 1;
          fail("fatal console event", `${fatal.kind} on the console ("${fatal.line.slice(0, 160)}")${flake}`, fatal.flake);
          return;
        }
        if (m && m.index !== undefined) {
          cursor += m.index + m[0].length;
          resolve({ match: m, seconds: (Date.now() - startedAt) / 1000 });
          return;
        }
        if (exitCode !== null) {
          const qlog = qemuSaid();
          fail("exited", `QEMU exited (code ${exitCode})${qlog ? `; QEMU said:\n${qlog}\n` : ""}`);
          return;
        }
        const now = Date.now();
        const silentSec = (now - Math.max(lastOutputAt, waitStartedAt)) / 1000;
        if (silentSec > stallSec) {
          fail("stalled", `STALLED: no console output for ${silentSec.toFixed(0)} s (host load average ${loadavg().map((l) => l.toFixed(2)).join(" ")})${diskSpaceNote(opts.disks.map((d) => d.path))}`);
          return;
        }
        if (now - waitStartedAt > capSec * 1000) {
          fail("no progress", `the console kept printing for ${capSec} s (${PROGRESS_CAP_FACTOR}× the ${timeoutSec} s a quiet machine needs) without the pattern`);
          return;
        }
        setTimeout(tick, 200);
      };
      tick();
    });

  return {
    name: opts.name,
    args,
    serialLog: opts.serialLog,
    startedAt,
    exited,
    waitFor,
    log: () => {
      refresh();
      return text;
    },
    tail,
    longestSilenceSec: () => {
      refresh();
      return Math.max(longestSilence, Date.now() - lastOutputAt) / 1000;
    },
    kill: async () => {
      if (exitCode === null) child.kill("SIGKILL");
      return exited;
    },
    type: opts.serialInput
      ? serialTyper(opts.serialLog)
      : () => Promise.reject(new Error(`VM ${opts.name} was started without serialInput: its console takes no input`)),
  };
}

/** Every QEMU this process started and that has not exited yet. */
const liveVms = new Set<ChildProcess>();

/** Powers off (SIGKILL) every VM still running; returns how many there were. */
export async function killAllVms(): Promise<number> {
  const running = [...liveVms];
  const gone = running.map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  }));
  await Promise.all(gone);
  return running.length;
}

let harnessHooked = false;

/** No guest outlives the harness: on exit, Ctrl-C, SIGTERM or a crash every VM is killed. */
function endVmsWithTheHarness(): void {
  if (harnessHooked) return;
  harnessHooked = true;
  const killNow = () => {
    for (const child of liveVms) child.kill("SIGKILL");
  };
  process.on("exit", killNow);
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(signal, () => {
      if (liveVms.size) console.error(`[qemu] ${signal}: powering off ${liveVms.size} VM(s)`);
      killNow();
      process.exit(code);
    });
  }
  process.on("uncaughtException", (error) => {
    console.error(`[qemu] harness crashed, powering off ${liveVms.size} VM(s): ${error.stack ?? error}`);
    killNow();
    process.exit(1);
  });
}

/** Wait for the VM to exit by itself; kill it and throw after `timeoutSec`. */
export async function waitExit(vm: Vm, timeoutSec: number): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutSec * 1000)));
  const r = await Promise.race([vm.exited, t]);
  clearTimeout(timer);
  if (r === "timeout") {
    await vm.kill();
    throw new Error(`VM ${vm.name} did not exit within ${timeoutSec}s; last serial lines (${vm.serialLog}):\n${vm.tail(40)}`);
  }
  return r;
}
