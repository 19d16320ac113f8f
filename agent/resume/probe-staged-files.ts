import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { CARRY_OVER_ARCHIVE_FILE } from "../carry-over/captured-config.ts";
import { mapFileToDisk } from "../disk/file-extents.ts";
import type { Log } from "../log/logger.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import { sha256File } from "../payload/copy-verified.ts";
import type { StagedFile, StagedFilesProbe } from "../resume/staged-boot.ts";
import type { Runner } from "../runner/runner.ts";
import type { OldSystem } from "../machine/machine.ts";

/**
 * Maps every file a resumed run needs (the payload, the tiny kernel and initramfs, the layout and
 * the captured config) to its sectors on the disk, with the old root mounted read-only at
 * `stagedDir`'s filesystem. Any failure is an answer, not an error: window A then stays open.
 */
export async function probeStagedFiles(
  run: Runner,
  log: Log,
  manifest: Readonly<Manifest>,
  oldSystem: OldSystem,
  stagedDir: string,
): Promise<StagedFilesProbe> {
  try {
    const files: StagedFile[] = [];
    for (const member of stagedMembers(manifest, stagedDir)) {
      const path = join(stagedDir, member.file);
      const bytes = statSync(path).size;
      const sha256 = member.sha256 ?? (await sha256File(path));
      const ranges = await mapFileToDisk(run, path, oldSystem.root.device, oldSystem.disk.path);
      files.push({ file: member.file, bytes, sha256, role: member.role, ranges });
    }
    return { files, firstOldPartitionStart: firstPartitionStart(oldSystem) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    log.warn(`the staged files could not be mapped to disk sectors (${reason}): a power cut between the point of no return and the resume store will need manual recovery`);
    return { unmapped: reason };
  }
}

function stagedMembers(manifest: Readonly<Manifest>, stagedDir: string): Array<{ file: string; role: StagedFile["role"]; sha256?: string }> {
  const tiny = manifest.tinySystem;
  const members: Array<{ file: string; role: StagedFile["role"]; sha256?: string }> = [
    { file: manifest.payload.rootfs.file, role: "payload", sha256: manifest.payload.rootfs.sha256 },
    { file: manifest.target.partitionTable.file, role: "payload", sha256: manifest.target.partitionTable.sha256 },
  ];
  if (tiny) members.push({ file: tiny.kernel.file, role: "kernel", sha256: tiny.kernel.sha256 }, { file: tiny.initramfs.file, role: "initramfs", sha256: tiny.initramfs.sha256 });
  for (const file of [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE]) {
    if (existsSync(join(stagedDir, file))) members.push({ file, role: "payload" });
  }
  return members;
}

function firstPartitionStart(oldSystem: OldSystem): number {
  const starts = oldSystem.partitions.map((p) => Number(readFileSync(`/sys/class/block/${basename(p.path)}/start`, "utf8").trim()));
  if (starts.length === 0) throw new Error(`no partitions found on ${oldSystem.disk.path}`);
  return Math.min(...starts);
}
