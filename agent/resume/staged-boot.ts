import type { GptLayout } from "../disk/gpt-backup.ts";
import { type FilePiece, firstOverlap, mergeRanges, type SectorRange } from "../disk/sector-ranges.ts";
import { DEFAULT_EXTENT_SECTORS, DEFAULT_PE_START, extentsAvoiding, type PvGeometry } from "./extents.ts";
import { parseBytes } from "../lvm/volume-sizes.ts";
import type { Manifest } from "../manifest/manifest.ts";

/**
 * Closing window A (docs/RESUME.md): from the point of no return until the resume store is
 * committed, the disk boots the tiny system straight from the sectors `stage` wrote the staged files
 * to, and a resumed run reads the payload from there too. That holds only if nothing written before
 * the store is committed lands on those sectors; this module decides, from the layout and the
 * probed sectors alone, whether it does.
 */

/** A staged file and where its bytes are on the disk, in file order. */
export interface StagedFile {
  /** Name in the payload directory (the manifest's file name). */
  file: string;
  bytes: number;
  sha256: string;
  role: "kernel" | "initramfs" | "payload";
  ranges: FilePiece[];
}

export interface StagedBoot {
  /** Where the staged boot code and the staged map go: unused sectors before the first partition. */
  kit: SectorRange;
  files: StagedFile[];
  /** The staged files' sectors, merged: nothing may write there before the store is committed. */
  keep: SectorRange[];
  /** Extents the store LV needs (its size in default 4 MiB extents). */
  storeExtents: number;
  /** Where they go: first and last extent of each run clear of the staged files, on the default geometry. */
  storeRanges: Array<[number, number]>;
}

/** What probing found: the staged files mapped to disk sectors, or why they could not be. */
export type StagedFilesProbe = { files: StagedFile[]; firstOldPartitionStart: number } | { unmapped: string };

/** Either the plan for closing window A, or why it stays open (the migration then runs as before). */
export type StagedBootDecision = { plan: StagedBoot } | { openBecause: string };

export const KIT_SECTORS = 1024;
const GPT_SECTORS = 34;

export interface StagedBootInputs {
  manifest: Readonly<Manifest>;
  layout: GptLayout;
  diskSectors: number;
  lvmPartition: number;
  resumeLv: string | undefined;
  probe: StagedFilesProbe | undefined;
}

export function decideStagedBoot(inputs: StagedBootInputs): StagedBootDecision {
  const { probe, layout } = inputs;
  if (!probe) return { openBecause: "the staged files were not mapped to disk sectors" };
  if ("unmapped" in probe) return { openBecause: `the staged files could not be mapped to disk sectors: ${probe.unmapped}` };
  const kernel = probe.files.find((f) => f.role === "kernel");
  if (!kernel || !probe.files.some((f) => f.role === "initramfs")) return { openBecause: "the bundle has no tiny system to boot from the staged files" };
  if (kernel.ranges.length !== 1) return { openBecause: `the staged tiny kernel is in ${kernel.ranges.length} pieces on disk; GRUB needs it in one` };
  const sparse = probe.files.find((f) => f.role !== "payload" && f.ranges.some((r) => r.hole));
  if (sparse) return { openBecause: `the staged ${sparse.file} has holes; GRUB reads it by sectors` };
  const boot = inputs.manifest.filesystems.find((fs) => fs.mountpoint === "/boot");
  if (!boot?.on.startsWith("partition:")) return { openBecause: "/boot is not a partition of its own (the resume entry must be made before the root LV)" };
  if (!inputs.resumeLv) return { openBecause: "the layout has no resume store LV" };
  const storeBytes = storeSize(inputs.manifest, inputs.resumeLv);
  if (storeBytes === undefined) return { openBecause: `the store LV ${inputs.resumeLv} has no absolute size, so it cannot be placed around the staged files` };

  const firstNew = Math.min(...layout.partitions.map((p) => p.firstLba));
  const kitEnd = Math.min(firstNew, probe.firstOldPartitionStart);
  const kit = { start: kitEnd - KIT_SECTORS, count: KIT_SECTORS };
  if (kit.start < GPT_SECTORS) return { openBecause: `only ${Math.max(0, kitEnd - GPT_SECTORS)} sectors before the first partition; the staged boot code needs ${KIT_SECTORS}` };

  const keep = mergeRanges(probe.files.flatMap((f) => f.ranges));
  for (const write of earlyWrites(inputs, kit)) {
    const hit = firstOverlap(keep, write.range);
    if (hit) return { openBecause: `${write.what} (sectors ${write.range.start}+${write.range.count}) overlaps staged file sectors ${hit.start}+${hit.count}` };
  }
  const storeExtents = Math.ceil(storeBytes / (DEFAULT_EXTENT_SECTORS * 512));
  const storeRanges = extentsAvoiding(defaultGeometry(inputs), keep, storeExtents);
  if (!storeRanges) return { openBecause: "the LVM partition has no room for the store LV beside the staged files" };
  return { plan: { kit, files: probe.files, keep, storeExtents, storeRanges } };
}

/** Everything written to the disk before the store is committed, except the store LV itself. */
function earlyWrites(inputs: StagedBootInputs, kit: SectorRange): Array<{ what: string; range: SectorRange }> {
  const { layout, diskSectors, lvmPartition } = inputs;
  const writes = [
    { what: "the primary GPT", range: { start: 0, count: GPT_SECTORS } },
    { what: "the backup GPT", range: { start: diskSectors - (GPT_SECTORS - 1), count: GPT_SECTORS - 1 } },
    { what: "the staged boot code", range: kit },
  ];
  for (const p of layout.partitions) {
    const whole = { start: p.firstLba, count: p.lastLba - p.firstLba + 1 };
    if (p.number === lvmPartition) writes.push({ what: `the PV header on partition ${p.number}`, range: { start: p.firstLba, count: DEFAULT_PE_START } });
    else writes.push({ what: `partition ${p.number}`, range: whole });
  }
  return writes;
}

/** The staged-boot plan, when window A is closed on this box. */
export function stagedBootOf(ctx: { plan: { stagedBoot: StagedBootDecision } }): StagedBoot | undefined {
  return "plan" in ctx.plan.stagedBoot ? ctx.plan.stagedBoot.plan : undefined;
}

export function defaultGeometry(inputs: Pick<StagedBootInputs, "layout" | "lvmPartition">): PvGeometry {
  const p = inputs.layout.partitions.find((part) => part.number === inputs.lvmPartition)!;
  const sectors = p.lastLba - p.firstLba + 1;
  return {
    pvStart: p.firstLba,
    peStart: DEFAULT_PE_START,
    extentSectors: DEFAULT_EXTENT_SECTORS,
    extentCount: Math.floor((sectors - DEFAULT_PE_START) / DEFAULT_EXTENT_SECTORS),
  };
}

function storeSize(manifest: Readonly<Manifest>, lv: string): number | undefined {
  const size = manifest.lvm.lvs.find((v) => v.name === lv)?.size;
  return size && /^\d+(B|KiB|MiB|GiB|TiB)$/.test(size) ? parseBytes(size) : undefined;
}
