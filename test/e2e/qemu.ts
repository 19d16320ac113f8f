// Generic QEMU runner for the e2e harness.
//
// Always software emulation (no usable KVM here): `-accel tcg,thread=multi -cpu Nehalem -smp 2`,
// no display, the first serial port written to a log file the caller chooses (kept after the run).
// `waitFor` polls that log; matches are searched from a cursor that advances past each match, so
// consecutive `waitFor` calls assert an ORDER of events on the console.

import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, fstatSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { constants as osConstants } from "node:os";

export type DiskBus = "virtio" | "sata" | "nvme";

export interface VmDisk {
  path: string;
  format: "qcow2" | "raw";
  bus: DiskBus;
  readonly?: boolean;
  /** Optional QEMU drive cache mode (default: QEMU's default, writeback). */
  cache?: "none" | "writeback" | "unsafe" | "directsync" | "writethrough";
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
  nic?: { mac: string; model?: "virtio-net-pci" | "e1000" };
  /** Path of the serial console log (directory is created). */
  serialLog: string;
  /** Add `-no-reboot`: a guest reboot makes QEMU exit instead. */
  noReboot?: boolean;
  extraArgs?: string[];
  /** Path of a file receiving QEMU's own stdout/stderr (default: `<serialLog>.qemu.log`). */
  qemuLog?: string;
}

export interface WaitResult {
  match: RegExpMatchArray;
  /** Seconds since VM start when the match was seen (poll granularity ~0.2 s). */
  seconds: number;
}

export interface Vm {
  name: string;
  args: string[];
  serialLog: string;
  startedAt: number;
  /** Resolves with QEMU's exit code (or 128+signal). */
  exited: Promise<number>;
  /** Wait until `re` matches the serial log after the current cursor; advances the cursor. */
  waitFor(re: RegExp, timeoutSec: number): Promise<WaitResult>;
  /** Whole serial log so far. */
  log(): string;
  /** Last `n` lines of the serial log. */
  tail(n?: number): string;
  /** Hard power-off (SIGKILL to QEMU). Resolves when QEMU has exited. */
  kill(): Promise<number>;
}

export const QEMU_BIN = "qemu-system-x86_64";

/** Build the QEMU argument vector (exported for unit tests and for logging). */
export function qemuArgs(opts: VmOptions): string[] {
  const a: string[] = [
    "-name", opts.name,
    "-accel", "tcg,thread=multi",
    "-cpu", "Nehalem",
    "-smp", "2",
    "-m", String(opts.memMiB ?? 2048),
    "-nographic",
    "-monitor", "none",
    "-parallel", "none",
    "-serial", `file:${opts.serialLog}`,
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
        a.push("-drive", `${common},if=virtio`);
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

  if (opts.nic) {
    a.push("-netdev", "user,id=n0,restrict=on", "-device", `${opts.nic.model ?? "virtio-net-pci"},netdev=n0,mac=${opts.nic.mac}`);
  } else {
    a.push("-nic", "none");
  }
  if (opts.extraArgs) a.push(...opts.extraArgs);
  return a;
}

export function startVm(opts: VmOptions): Vm {
  mkdirSync(dirname(opts.serialLog), { recursive: true });
  writeFileSync(opts.serialLog, ""); // QEMU appends/truncates; make sure a stale log is never read
  const args = qemuArgs(opts);
  const qemuLog = opts.qemuLog ?? `${opts.serialLog}.qemu.log`;
  writeFileSync(qemuLog, `${QEMU_BIN} ${args.map((x) => JSON.stringify(x)).join(" ")}\n`);
  const outFd = openSync(qemuLog, "a");
  const startedAt = Date.now();
  const child: ChildProcess = spawn(QEMU_BIN, args, { stdio: ["ignore", outFd, outFd] });
  closeSync(outFd);

  let exitCode: number | null = null;
  const exited = new Promise<number>((resolve) => {
    child.on("exit", (code, signal) => {
      exitCode = code ?? (signal ? 128 + ((osConstants.signals as Record<string, number>)[signal] ?? 0) : 1);
      resolve(exitCode);
    });
    child.on("error", (e) => {
      writeFileSync(qemuLog, `spawn error: ${e}\n`, { flag: "a" });
      exitCode = 127;
      resolve(127);
    });
  });

  // Incremental reader of the serial log.
  let text = "";
  let readPos = 0;
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
      }
    } finally {
      closeSync(fd);
    }
  };
  const tail = (n = 40) => {
    refresh();
    return text.replace(/\r/g, "").split("\n").slice(-n).join("\n");
  };

  let cursor = 0;
  const waitFor = (re: RegExp, timeoutSec: number): Promise<WaitResult> =>
    new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutSec * 1000;
      const flags = re.flags.replace("g", "").replace("y", "");
      const rx = new RegExp(re.source, flags);
      const tick = () => {
        refresh();
        const m = text.slice(cursor).match(rx);
        if (m && m.index !== undefined) {
          cursor += m.index + m[0].length;
          resolve({ match: m, seconds: (Date.now() - startedAt) / 1000 });
          return;
        }
        if (exitCode !== null) {
          let qlog = "";
          try {
            qlog = readFileSync(qemuLog, "utf8").split("\n").slice(1).join("\n").trim();
          } catch {
            /* none */
          }
          reject(new Error(`VM ${opts.name} exited (code ${exitCode}) before ${re} appeared; ` + (qlog ? `QEMU said:\n${qlog}\n` : "") + `last serial lines (${opts.serialLog}):\n${tail(40)}`));
          return;
        }
        if (Date.now() > deadline) {
          reject(new Error(`timeout (${timeoutSec}s) waiting for ${re} on VM ${opts.name}; last serial lines (${opts.serialLog}):\n${tail(40)}`));
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
    kill: async () => {
      if (exitCode === null) child.kill("SIGKILL");
      return exited;
    },
  };
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
