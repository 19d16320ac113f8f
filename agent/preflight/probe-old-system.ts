import type { Log } from "../log/logger.ts";
import { parseCpuFlags, parseMemTotal, parsePvs } from "../machine/probe.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { referencedFiles } from "../bundle/manifest-members.ts";
import type { Runner } from "../runner/runner.ts";
import { freeSpaceOf } from "./free-space.ts";
import { firmwareOf, osReleaseOf, readHostFile, selinuxStateOf, toolsOnPath } from "./host-files.ts";
import type { StageFacts } from "./stage-facts.ts";
import {
  candidateSystemDisks,
  disksUnder,
  type LsblkRow,
  parseLsblkJson,
  parseLsblkPairs,
  type PhysicalVolumeRow,
} from "./system-disks.ts";
import { stagingDirOf } from "../manifest/staging-dir.ts";

export interface StageProbeOptions {
  run: Runner;
  log: Log;
  /** Prefix of every file read (/proc, /sys, /etc): "/" on the box, a fixture tree in tests. */
  root?: string;
  manifest: Readonly<Manifest>;
  /** Bytes to be written into the staging dir; defaults to the sum of the manifest's member sizes. */
  bundleBytes?: number;
}

const LSBLK_COLUMNS = "PATH,TYPE,SIZE,FSTYPE,PKNAME,MOUNTPOINT";
const LSBLK_PAIRS_COLUMNS = "NAME,TYPE,SIZE,FSTYPE,PKNAME,MOUNTPOINT";

/** Reads what the pre-flight checks need from the running old system; read-only commands only. */
export async function probeStageFacts(options: StageProbeOptions): Promise<StageFacts> {
  const { run, log, manifest } = options;
  const root = options.root ?? "/";
  const stagingDir = stagingDirOf(manifest);
  const rootSource = await findRootSource(run);
  const rows = await listBlockDevices(run);
  const pvs = await listPhysicalVolumes(run);
  const candidateDisks = candidateSystemDisks(rootSource, rows, pvs);
  const rootDisks = disksUnder(rootSource, rows);
  const facts: StageFacts = {
    arch: (await run.run(["uname", "-m"], { readOnly: true })).stdout.trim(),
    cpuFlags: parseCpuFlags(readHostFile(root, "proc/cpuinfo") ?? ""),
    ramBytes: parseMemTotal(readHostFile(root, "proc/meminfo") ?? ""),
    firmware: firmwareOf(root),
    rootSource,
    rootDisk: rootDisks.length === 1 ? (candidateDisks.find((disk) => disk.path === rootDisks[0]) ?? null) : null,
    candidateDisks,
    boot: await freeSpaceOf(run, root, "/boot"),
    staging: await freeSpaceOf(run, root, stagingDir),
    bytesToStage: options.bundleBytes ?? memberBytes(manifest),
    tools: toolsOnPath(root),
    volumeGroups: await listVolumeGroups(run, rows, pvs),
    osRelease: osReleaseOf(root),
    selinux: selinuxStateOf(root),
  };
  log.debug("probed the old system for pre-flight", { facts });
  return facts;
}

/** findmnt prints btrfs subvolumes as DEVICE[/subvol]. */
async function findRootSource(run: Runner): Promise<string> {
  const { stdout } = await run.run(["findmnt", "-no", "SOURCE", "/"], { readOnly: true });
  return stdout.trim().replace(/\[.*\]$/, "");
}

async function listBlockDevices(run: Runner): Promise<LsblkRow[]> {
  const json = await run.run(["lsblk", "--json", "--bytes", "--list", "--paths", "-o", LSBLK_COLUMNS], {
    readOnly: true,
    allowFailure: true,
  });
  if (json.status === 0) return parseLsblkJson(json.stdout);
  const pairs = await run.run(["lsblk", "--pairs", "--bytes", "--paths", "-o", LSBLK_PAIRS_COLUMNS], { readOnly: true });
  return parseLsblkPairs(pairs.stdout);
}

async function listPhysicalVolumes(run: Runner): Promise<PhysicalVolumeRow[]> {
  const result = await run.run(["lvm", "pvs", "--reportformat", "json", "-o", "pv_name,vg_name"], {
    readOnly: true,
    allowFailure: true,
  });
  return result.status === 0 ? parsePvs(result.stdout) : [];
}

async function listVolumeGroups(run: Runner, rows: LsblkRow[], pvs: PhysicalVolumeRow[]): Promise<StageFacts["volumeGroups"]> {
  const result = await run.run(["lvm", "vgs", "--reportformat", "json", "-o", "vg_name"], { readOnly: true, allowFailure: true });
  const names = result.status === 0 ? parseVgNames(result.stdout) : [];
  return names.map((name) => ({
    name,
    disks: [...new Set(pvs.filter((pv) => pv.vg === name).flatMap((pv) => disksUnder(pv.device, rows)))].sort(),
  }));
}

export function parseVgNames(json: string): string[] {
  const report = JSON.parse(json) as { report: { vg?: { vg_name: string }[] }[] };
  return report.report.flatMap((r) => r.vg ?? []).map((vg) => vg.vg_name).filter(Boolean);
}

function memberBytes(manifest: Readonly<Manifest>): number {
  return referencedFiles(manifest).reduce((sum, ref) => sum + (ref.bytes ?? 0), 0);
}
