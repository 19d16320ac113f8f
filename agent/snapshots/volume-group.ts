import { SnapshotError } from "../errors/errors.ts";
import type { Runner } from "../runner/runner.ts";

/** What a snapshot's size is judged against: the VG's free bytes, in whole extents. */
export interface VolumeGroupSpace {
  freeBytes: number;
  extentBytes: number;
}

export function vgsArgv(vg: string): string[] {
  return ["lvm", "vgs", "--reportformat", "json", "--units", "b", "--nosuffix", "--options", "vg_free,vg_extent_size", vg];
}

export async function volumeGroupSpace(run: Runner, vg: string): Promise<VolumeGroupSpace> {
  const result = await run.run(vgsArgv(vg), { readOnly: true, allowFailure: true });
  if (result.status !== 0) {
    throw new SnapshotError(
      `\`lvm vgs ${vg}\` exited ${result.status}: ${result.stderr.trim().split("\n").at(-1) ?? ""}`,
      `Check that the volume group ${vg} is there and active (\`lvm vgs\`); nothing was changed.`,
      { vg, status: result.status },
    );
  }
  return parseVgsJson(result.stdout);
}

export function parseVgsJson(json: string): VolumeGroupSpace {
  const report = JSON.parse(json) as { report: { vg?: { vg_free: string; vg_extent_size: string }[] }[] };
  const row = report.report.flatMap((r) => r.vg ?? [])[0];
  if (!row) throw new Error("lvm vgs reported no volume group");
  return { freeBytes: Number(row.vg_free), extentBytes: Number(row.vg_extent_size) };
}

/** `percent` of `bytes`, rounded up to whole extents: what LVM allocates for it. */
export function extentsOf(bytes: number, percent: number, extentBytes: number): number {
  return Math.ceil((bytes * percent) / 100 / extentBytes) * extentBytes;
}

export function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
