import type { Log } from "../log/logger.ts";
import { disksUnder } from "../disk/device-tree.ts";
import { listPhysicalVolumes } from "../lvm/physical-volumes.ts";
import { parseCpuFlags, parseMemTotal } from "../machine/probe.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { referencedFiles } from "../bundle/manifest-members.ts";
import type { Runner } from "../runner/runner.ts";
import { freeSpaceOf } from "./free-space.ts";
import { firmwareOf, readHostFile, selinuxStateOf, toolsOnPath } from "./host-files.ts";
import { readOsRelease } from "../machine/os-release.ts";
import type { StageFacts } from "./stage-facts.ts";
import { readInstalledProduct } from "../product/installed-product.ts";
import { candidateSystemDisks } from "./system-disks.ts";
import { listBlockDevices } from "../disk/lsblk.ts";
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


/** Reads what the pre-flight checks need from the running old system; read-only commands only. */
export async function probeStageFacts(options: StageProbeOptions): Promise<StageFacts> {
  const { run, log, manifest } = options;
  const root = options.root ?? "/";
  const stagingDir = stagingDirOf(manifest);
  const rootSource = await findRootSource(run);
  const rows = await listBlockDevices(run);
  const lvm = await listPhysicalVolumes(run);
  const candidateDisks = candidateSystemDisks(rootSource, rows, lvm.physicalVolumes);
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
    blockDevices: rows,
    ...lvm,
    osRelease: readOsRelease(root) ?? {},
    installedProduct: readInstalledProduct(root),
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

function memberBytes(manifest: Readonly<Manifest>): number {
  return referencedFiles(manifest).reduce((sum, ref) => sum + (ref.bytes ?? 0), 0);
}
