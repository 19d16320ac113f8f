import type { Runner } from "../runner/runner.ts";
import { outputLines } from "../runner/output-lines.ts";

export interface PhysicalVolume {
  /** As LVM prints it; `[unknown]` (or `unknown device` on old LVM) for a PV whose device is missing. */
  device: string;
  vg: string;
}

/**
 * What `lvm pvs` said. A failure is kept as a failure: read as "no PVs" it would let the migration
 * remove volume groups nobody looked at.
 */
export interface PhysicalVolumeListing {
  physicalVolumes: PhysicalVolume[];
  physicalVolumesFailure?: string;
}

const OPTIONS = ["--options", "pv_name,vg_name"];
/** LVM before 2.02.158 (CentOS 7.2 and older) has no JSON report: exit 3, "unrecognized option". */
const NO_JSON_REPORT = /unrecogni[sz]ed option/i;
const INVALID_COMMAND_LINE = 3;

/** PVs that belong to a VG, from the JSON report or, on an LVM without one, from the column output. */
export async function listPhysicalVolumes(run: Runner): Promise<PhysicalVolumeListing> {
  const probe = { readOnly: true, allowFailure: true };
  const json = await run.run(["lvm", "pvs", "--reportformat", "json", ...OPTIONS], probe);
  if (json.status === 0) return parsedOrFailure(() => parsePvsJson(json.stdout));
  if (json.status !== INVALID_COMMAND_LINE || !NO_JSON_REPORT.test(json.stderr)) return failure(json.status, json.stderr);
  const columns = await run.run(["lvm", "pvs", "--noheadings", "--separator", "|", ...OPTIONS], probe);
  if (columns.status !== 0) return failure(columns.status, columns.stderr);
  return parsedOrFailure(() => parsePvsColumns(columns.stdout));
}

export function parsePvsJson(json: string): PhysicalVolume[] {
  const report = JSON.parse(json) as { report: { pv?: { pv_name: string; vg_name: string }[] }[] };
  return report.report.flatMap((r) => r.pv ?? []).filter((pv) => pv.vg_name).map((pv) => ({ device: pv.pv_name, vg: pv.vg_name }));
}

/** `  /dev/sda2|centos` per line; a PV outside any VG has an empty second field. */
export function parsePvsColumns(output: string): PhysicalVolume[] {
  const pvs = outputLines(output).map((line) => {
    const fields = line.trim().split("|");
    if (fields.length !== 2) throw new Error(`unexpected line ${JSON.stringify(line)}`);
    return { device: fields[0]!.trim(), vg: fields[1]!.trim() };
  });
  return pvs.filter((pv) => pv.vg);
}

function parsedOrFailure(parse: () => PhysicalVolume[]): PhysicalVolumeListing {
  try {
    return { physicalVolumes: parse() };
  } catch (error) {
    return { physicalVolumes: [], physicalVolumesFailure: `\`lvm pvs\` printed a report the agent cannot read (${(error as Error).message})` };
  }
}

function failure(status: number, stderr: string): PhysicalVolumeListing {
  const lastLine = stderr.trim().split("\n").at(-1)?.trim() || "no message";
  return { physicalVolumes: [], physicalVolumesFailure: `\`lvm pvs\` exited ${status}: ${lastLine}` };
}
