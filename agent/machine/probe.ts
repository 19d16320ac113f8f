import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";
import { listBlockDevices } from "../disk/lsblk.ts";
import { listPhysicalVolumes } from "../lvm/physical-volumes.ts";
import type { BlockDevice, Machine, RootCandidate } from "./machine.ts";
import { readOsRelease } from "./os-release.ts";

const ROOT_FILESYSTEMS = new Set(["ext4", "xfs", "ext3"]);

export interface ProbeOptions {
  /** Where the payload is staged on the old root (relative to it), e.g. /etc/upd. */
  stagingDir: string;
  /** Scratch mountpoint for looking into candidate roots. */
  mountpoint: string;
  procDir?: string;
}

/** Reads the machine: block devices, LVM, RAM, CPU flags, and which filesystems are system roots. */
export async function probeMachine(run: Runner, log: Log, options: ProbeOptions): Promise<Machine> {
  await run.run(["lvm", "vgchange", "--activate", "y"], { readOnly: true, allowFailure: true });
  await run.run(["udevadm", "settle", "--timeout=30"], { readOnly: true, allowFailure: true });
  const blockDevices = await listBlockDevices(run);
  const lvm = await listPhysicalVolumes(run);
  const rootCandidates: RootCandidate[] = [];
  // once per device: lsblk lists an LV over two PVs twice
  for (const device of blockDevices.filter((d, i) => isRootCandidate(d) && blockDevices.findIndex((o) => o.path === d.path) === i)) {
    const candidate = await inspectFilesystem(run, device, options);
    if (candidate) rootCandidates.push(candidate);
  }
  const procDir = options.procDir ?? "/proc";
  const machine: Machine = {
    ramBytes: parseMemTotal(readFileSync(join(procDir, "meminfo"), "utf8")),
    cpuFlags: parseCpuFlags(readFileSync(join(procDir, "cpuinfo"), "utf8")),
    blockDevices,
    ...lvm,
    rootCandidates,
  };
  log.debug("probed machine", { machine });
  return machine;
}

function isRootCandidate(device: BlockDevice): boolean {
  return (device.type === "part" || device.type === "lvm") && ROOT_FILESYSTEMS.has(device.fstype ?? "");
}

async function inspectFilesystem(run: Runner, device: BlockDevice, options: ProbeOptions): Promise<RootCandidate | undefined> {
  mkdirSync(options.mountpoint, { recursive: true });
  const mounted = await run.run(["mount", "-o", "ro", "-t", device.fstype!, device.path, options.mountpoint], {
    readOnly: true,
    allowFailure: true,
  });
  if (mounted.status !== 0) return undefined;
  try {
    const osRelease = readOsRelease(options.mountpoint);
    if (!osRelease) return undefined;
    return {
      device: device.path,
      fstype: device.fstype!,
      osRelease,
      hasStagedPayload: existsSync(join(options.mountpoint, options.stagingDir, "manifest.json")),
    };
  } finally {
    await run.run(["umount", options.mountpoint], { readOnly: true, allowFailure: true });
  }
}

export function parseMemTotal(meminfo: string): number {
  const kib = /^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1];
  return kib ? Number(kib) * 1024 : 0;
}

export function parseCpuFlags(cpuinfo: string): string[] {
  return (/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "").split(/\s+/).filter(Boolean);
}
