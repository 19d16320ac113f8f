import { SnapshotError } from "../errors/errors.ts";
import type { Runner } from "../runner/runner.ts";

/**
 * The LVs of one VG as `lvm lvs` reports them on the migrated box (its LVM has the JSON report):
 * what the snapshot, factory and rescue commands read before they decide anything.
 */
export interface LogicalVolume {
  name: string;
  vg: string;
  uuid: string;
  /** /dev/VG/LV */
  path: string;
  sizeBytes: number;
  /** The origin LV of a snapshot; null for any other LV. */
  origin: string | null;
  /** A snapshot's COW use in percent (0–100); null for any other LV. */
  snapPercent: number | null;
  /** lv_attr, e.g. "swi-a-s---" (docs: lvs(8) "lv_attr bits"). */
  attr: string;
  tags: string[];
  /** "2026-12-01 20:35:00 +0000" as LVM prints lv_time. */
  createdAt: string;
  active: boolean;
  /** Open by something (mounted, in use): a merge into it must wait for the next activation. */
  open: boolean;
  /** An invalidated snapshot: its COW overflowed (state I or S), or its merge failed (m or M). */
  invalid: boolean;
  /** A snapshot being merged into its origin (type S), or an origin with a merging snapshot (type O). */
  merging: boolean;
}

export const LVS_FIELDS = "lv_name,vg_name,lv_uuid,lv_path,lv_size,origin,snap_percent,lv_attr,lv_tags,lv_time";

export function lvsArgv(vg: string): string[] {
  return ["lvm", "lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "--all", "--options", LVS_FIELDS, vg];
}

export async function listLogicalVolumes(run: Runner, vg: string): Promise<LogicalVolume[]> {
  const argv = lvsArgv(vg);
  const result = await run.run(argv, { readOnly: true, allowFailure: true });
  if (result.status !== 0) {
    throw new SnapshotError(
      `\`lvm lvs ${vg}\` exited ${result.status}: ${result.stderr.trim().split("\n").at(-1) ?? ""}`,
      `Check that the volume group ${vg} is there and active (\`lvm vgs\`, \`lvm vgchange -ay ${vg}\`); nothing was changed.`,
      { vg, status: result.status },
    );
  }
  return parseLvsJson(result.stdout);
}

interface LvsRow {
  lv_name: string;
  vg_name: string;
  lv_uuid: string;
  lv_path: string;
  lv_size: string;
  origin: string;
  snap_percent: string;
  lv_attr: string;
  lv_tags: string;
  lv_time: string;
}

export function parseLvsJson(json: string): LogicalVolume[] {
  const report = JSON.parse(json) as { report: { lv?: LvsRow[] }[] };
  // --all lists hidden LVs ([name] in brackets) too; they are LVM's own (pvmove, mirror logs) and never ours.
  return report.report.flatMap((r) => r.lv ?? []).filter((row) => !row.lv_name.startsWith("[")).map(logicalVolumeOf);
}

function logicalVolumeOf(row: LvsRow): LogicalVolume {
  const attr = row.lv_attr;
  const type = attr[0] ?? "-";
  const state = attr[4] ?? "-";
  const isSnapshot = type === "s" || type === "S";
  return {
    name: row.lv_name,
    vg: row.vg_name,
    uuid: row.lv_uuid,
    path: row.lv_path || `/dev/${row.vg_name}/${row.lv_name}`,
    sizeBytes: Number(row.lv_size),
    origin: row.origin || null,
    snapPercent: isSnapshot && row.snap_percent !== "" ? Number(row.snap_percent) : null,
    attr,
    tags: row.lv_tags ? row.lv_tags.split(",") : [],
    createdAt: row.lv_time,
    active: state !== "-",
    open: attr[5] === "o",
    invalid: isSnapshot && ["I", "S", "m", "M"].includes(state),
    merging: type === "S" || type === "O",
  };
}
