import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { Runner } from "../runner/runner.ts";
import { type FilePiece, joinAdjacent, SECTOR } from "./sector-ranges.ts";
import { outputLines } from "../runner/output-lines.ts";

/**
 * Where a file's bytes sit on the whole disk, in 512-byte sectors: FIEMAP (through filefrag) gives
 * the extents inside the filesystem's device, device-mapper's linear table maps an LV onto its
 * partition, and sysfs gives the partition's start. Used before the point of no return to boot and
 * resume from the staged files while the disk is being repartitioned (docs/RESUME.md, window A).
 */

/** FIEMAP flags that mean the extent's bytes are not (only) at its physical address. */
const UNMAPPABLE_FLAGS = ["unknown_loc", "delalloc", "inline", "data_inline", "encoded", "encrypted", "unwritten", "not_aligned"];

/**
 * Extents of `filefrag -v -e -b512 FILE`, in file order, relative to the filesystem's device. Holes
 * (a sparse file, or one whose last bytes were never allocated) come back as `hole` pieces: they
 * read as zeros and occupy no sectors.
 */
export function parseFilefrag(output: string, sizeBytes: number): FilePiece[] {
  const wanted = Math.ceil(sizeBytes / SECTOR);
  const pieces: FilePiece[] = [];
  let next = 0;
  for (const line of output.split("\n")) {
    if (!/^\s*\d+:\s+\d/.test(line)) continue;
    const m = /^\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+(\d+)\.\.\s*(\d+):\s+(\d+):(.*)$/.exec(line);
    if (!m) throw new Error(`filefrag line not understood: ${line.trim()}`);
    const [logical, physical, length] = [Number(m[1]), Number(m[3]), Number(m[5])];
    const flags = m[6]!.split(/[\s,]+/).filter(Boolean);
    const bad = flags.find((flag) => UNMAPPABLE_FLAGS.includes(flag));
    if (bad) throw new Error(`extent at sector ${logical} is ${bad}`);
    if (logical > next) pieces.push({ start: 0, count: Math.min(logical, wanted) - next, hole: true });
    const count = Math.min(length, wanted - logical);
    if (count > 0) pieces.push({ start: physical, count });
    next = logical + length;
  }
  if (next < wanted) pieces.push({ start: 0, count: wanted - next, hole: true });
  return pieces.filter((piece) => piece.count > 0);
}

export interface LinearSegment {
  /** Sector of the LV where the segment starts, and its length. */
  start: number;
  count: number;
  /** major:minor of the device underneath and the sector there. */
  device: string;
  offset: number;
}

/** `dmsetup table NAME`: only linear segments can be followed to disk sectors. */
export function parseDmTable(output: string): LinearSegment[] {
  return outputLines(output).map((line) => {
    const [start, count, target, device, offset] = line.trim().split(/\s+/);
    if (target !== "linear" || !device || offset === undefined) throw new Error(`device-mapper target ${target} is not linear`);
    return { start: Number(start), count: Number(count), device, offset: Number(offset) };
  });
}

/** Ranges of an LV translated through its segments: one output range per piece inside one segment. */
export function throughSegments(ranges: readonly FilePiece[], segments: readonly LinearSegment[]): Array<FilePiece & { device: string }> {
  const out: Array<FilePiece & { device: string }> = [];
  for (const range of ranges) {
    if (range.hole) {
      out.push({ ...range, device: "" });
      continue;
    }
    let at = range.start;
    const end = range.start + range.count;
    while (at < end) {
      const segment = segments.find((s) => at >= s.start && at < s.start + s.count);
      if (!segment) throw new Error(`sector ${at} is outside every segment of the LV`);
      const count = Math.min(end, segment.start + segment.count) - at;
      out.push({ start: segment.offset + (at - segment.start), count, device: segment.device });
      at += count;
    }
  }
  return out;
}

/** What sysfs says about a block device by major:minor: its disk's name and its start on that disk. */
export interface SysfsBlock {
  disk: string;
  start: number;
}

export function sysfsBlock(majorMinor: string, sysfs = "/sys/dev/block"): SysfsBlock {
  const dir = `${sysfs}/${majorMinor}`;
  if (!existsSync(`${dir}/partition`)) return { disk: basename(realpathSync(dir)), start: 0 };
  return { disk: basename(dirname(realpathSync(dir))), start: Number(readFileSync(`${dir}/start`, "utf8").trim()) };
}

/** Absolute disk sectors of `file` on the filesystem of `fsDevice`, which must live on `diskPath`. */
export async function mapFileToDisk(run: Runner, file: string, fsDevice: string, diskPath: string): Promise<FilePiece[]> {
  const size = statSync(file).size;
  const frag = await run.run(["filefrag", "-v", "-e", "-b512", file], { readOnly: true });
  const inFs = parseFilefrag(frag.stdout, size);
  const { major, minor } = majorMinorOf(fsDevice);
  const onDevices = existsSync(`/sys/dev/block/${major}:${minor}/dm`)
    ? throughSegments(inFs, parseDmTable((await run.run(["dmsetup", "table", "-j", `${major}`, "-m", `${minor}`], { readOnly: true })).stdout))
    : inFs.map((range) => ({ ...range, device: `${major}:${minor}` }));
  const diskName = basename(diskPath);
  return joinAdjacent(
    onDevices.map((piece) => {
      if (piece.hole) return { start: 0, count: piece.count, hole: true as const };
      const block = sysfsBlock(piece.device);
      if (block.disk !== diskName) throw new Error(`${file} has sectors on ${block.disk}, not on ${diskName}`);
      return { start: block.start + piece.start, count: piece.count };
    }),
  );
}

function majorMinorOf(device: string): { major: number; minor: number } {
  const rdev = statSync(device).rdev;
  return { major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
}
