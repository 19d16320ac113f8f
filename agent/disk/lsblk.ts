import type { BlockDevice } from "../machine/machine.ts";
import type { Runner } from "../runner/runner.ts";
import { outputLines } from "../runner/output-lines.ts";

/** Every column stage and the tiny system read; one list, so both probes see the same devices. */
const LSBLK_COLUMNS = "PATH,TYPE,SIZE,FSTYPE,PKNAME,MOUNTPOINT,TRAN,UUID,LABEL,WWN,SERIAL,PTUUID";
/** util-linux 2.23 (CentOS 7) has neither --json nor the PATH column; NAME with --paths is the path. */
const LSBLK_PAIRS_COLUMNS = "NAME,TYPE,SIZE,FSTYPE,PKNAME,MOUNTPOINT";

/**
 * The block devices, the one probe of disks, partitions and LVs for `stage`, `plan` and the tiny
 * system. In list mode a device with several parents (an LV over two PVs) is listed once per parent.
 */
export async function listBlockDevices(run: Runner): Promise<BlockDevice[]> {
  const json = await run.run(["lsblk", "--json", "--bytes", "--list", "--paths", "-o", LSBLK_COLUMNS], { readOnly: true, allowFailure: true });
  if (json.status === 0) return parseLsblkJson(json.stdout);
  const pairs = await run.run(["lsblk", "--pairs", "--bytes", "--paths", "-o", LSBLK_PAIRS_COLUMNS], { readOnly: true });
  return parseLsblkPairs(pairs.stdout);
}

type Row = Record<string, string | number | null | undefined>;

export function parseLsblkJson(json: string): BlockDevice[] {
  return (JSON.parse(json) as { blockdevices: Row[] }).blockdevices.map(blockDevice);
}

export function parseLsblkPairs(output: string): BlockDevice[] {
  return outputLines(output).map((line) => {
    const fields: Row = Object.fromEntries([...line.matchAll(/([A-Z:]+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    return blockDevice({ ...fields, path: fields.path ?? fields.name });
  });
}

function blockDevice(row: Row): BlockDevice {
  return {
    path: String(row.path ?? ""),
    type: String(row.type ?? ""),
    sizeBytes: Number(row.size ?? 0),
    ...optional("fstype", row.fstype),
    ...optional("parent", row.pkname),
    ...optional("mountpoint", row.mountpoint),
    ...optional("transport", row.tran),
    ...optional("uuid", row.uuid),
    ...optional("label", row.label),
    ...optional("wwn", row.wwn),
    ...optional("serial", row.serial),
    ...optional("ptuuid", row.ptuuid),
  };
}

function optional<K extends string>(key: K, value: string | number | null | undefined): Partial<Record<K, string>> {
  return value === null || value === undefined || value === "" ? {} : ({ [key]: String(value) } as Record<K, string>);
}
