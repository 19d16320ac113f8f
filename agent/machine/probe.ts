import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";
import { listPhysicalVolumes } from "../lvm/physical-volumes.ts";
import type { BlockDevice, Machine, RootCandidate } from "./machine.ts";
import { readOsRelease } from "./os-release.ts";

const ROOT_FILESYSTEMS = new Set(["ext4", "xfs", "ext3"]);
const LSBLK_COLUMNS = "PATH,TYPE,SIZE,FSTYPE,PKNAME,TRAN,UUID,LABEL,WWN,SERIAL,PTUUID";

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
  for (const device of blockDevices.filter(isRootCandidate)) {
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

export async function listBlockDevices(run: Runner): Promise<BlockDevice[]> {
  const { stdout } = await run.run(["lsblk", "--json", "--bytes", "--list", "--paths", "--output", LSBLK_COLUMNS], {
    readOnly: true,
  });
  return parseLsblk(stdout);
}

export function parseLsblk(json: string): BlockDevice[] {
  const rows = (JSON.parse(json) as { blockdevices: Record<string, string | number | null>[] }).blockdevices;
  const devices = new Map<string, BlockDevice>();
  for (const row of rows) {
    const path = String(row.path);
    if (devices.has(path)) continue;
    devices.set(path, {
      path,
      type: String(row.type),
      sizeBytes: Number(row.size),
      ...optional("fstype", row.fstype),
      ...optional("parent", row.pkname),
      ...optional("transport", row.tran),
      ...optional("uuid", row.uuid),
      ...optional("label", row.label),
      ...optional("wwn", row.wwn),
      ...optional("serial", row.serial),
      ...optional("ptuuid", row.ptuuid),
    });
  }
  return [...devices.values()];
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

function optional<K extends string>(key: K, value: string | number | null | undefined): Partial<Record<K, string>> {
  return value === null || value === undefined || value === "" ? {} : ({ [key]: String(value) } as Record<K, string>);
}
