import { readFileSync } from "node:fs";
import type { ErrorObject, ValidateFunction } from "ajv";
import { ManifestError } from "../errors/errors.ts";
import { validate as validateManifest } from "./validate-manifest.generated.ts";
import { stagingDirProblem } from "./staging-dir.ts";
import { parseBytes } from "../lvm/volume-sizes.ts";
import { RESERVE_PLACEHOLDER_LV } from "../snapshots/names.ts";

export interface FileRef {
  file: string;
  bytes?: number;
  sha256: string;
}
export type Compression = "xz" | "zstd";
export interface LogicalVolumeSpec {
  name: string;
  size: string;
}
export interface FilesystemSpec {
  on: string;
  type: "ext4" | "xfs";
  mountpoint?: string;
  label?: string;
  uuidFromFstab?: boolean;
}
export interface Manifest {
  version: 1;
  product: { name: string; release: string };
  target: {
    partitionTable: FileRef;
    lvmPartition: number;
    growLvmPartition: boolean;
    firmware: "bios";
    minDiskBytes?: number;
  };
  lvm: { vg: string; lvs: LogicalVolumeSpec[] };
  filesystems: FilesystemSpec[];
  payload: { rootfs: FileRef & { bytes: number; compression: Compression }; stagingDir: string };
  tinySystem?: { kernel: FileRef; initramfs: FileRef; agent?: FileRef };
  bootloader: { kind: "grub-bios"; rebuildInitramfs: boolean };
  selinux: { mode: "none" | "enforcing" | "permissive"; relabel: boolean };
  carryOver: { accounts: string[]; paths: string[]; network: boolean };
  slots?: SlotsSpec;
  snapshots?: SnapshotsSpec;
}
export interface SlotsSpec {
  a: string;
  b: string;
  tries: number;
  menuTimeoutSeconds: number;
}

/** LVM snapshots and the factory point (docs/RESCUE.md), defaults filled. */
export interface SnapshotsSpec {
  /** Left free in the VG by the migration: absolute ("4GiB") or percent of the VG ("15%"). */
  reserve: string;
  cowPercent: number;
  extendAtPercent: number;
  factoryLv?: string;
  beforeInstall: boolean;
}

// Compiled ahead of time from manifestSchema (build/validators.ts): no schema compile at start-up.
const validateSchema = validateManifest as unknown as ValidateFunction;

/** Validates at the boundary; everything after works with a frozen, typed manifest. */
export function parseManifest(document: unknown, source = "manifest"): Readonly<Manifest> {
  const copy = structuredClone(document);
  if (!validateSchema(copy)) {
    const problems = (validateSchema.errors ?? []).map(describeSchemaError);
    throw new ManifestError(`${source} is invalid:\n  ${problems.join("\n  ")}`, fixHint(source), { problems });
  }
  const manifest = copy as unknown as Manifest;
  checkCrossReferences(manifest, source);
  return deepFreeze(manifest);
}

export function loadManifest(path: string): Readonly<Manifest> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ManifestError(`cannot read manifest ${path}: ${(error as Error).message}`, "Check the staging directory holds manifest.json.");
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`${path} is not JSON: ${(error as Error).message}`, fixHint(path));
  }
  return parseManifest(document, path);
}

export function describeSchemaError(error: ErrorObject): string {
  const field = error.instancePath ? error.instancePath.slice(1).replaceAll("/", ".") : "(top level)";
  switch (error.keyword) {
    case "required":
      return `${field === "(top level)" ? "" : `${field}.`}${(error.params as { missingProperty: string }).missingProperty}: missing, it is required`;
    case "additionalProperties":
      return `${field}: unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
    case "const":
      return `${field}: must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)} (this agent understands manifest version 1)`;
    case "enum":
      return `${field}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return `${field}: ${error.message ?? error.keyword}`;
  }
}

function checkCrossReferences(manifest: Manifest, source: string): void {
  const problems: string[] = [];
  const lvNames = manifest.lvm.lvs.map((lv) => lv.name);
  const restIndex = manifest.lvm.lvs.findIndex((lv) => lv.size === "rest");
  if (restIndex !== -1 && restIndex !== manifest.lvm.lvs.length - 1) {
    problems.push(`lvm.lvs[${restIndex}].size: "rest" is only allowed on the last logical volume`);
  }
  if (new Set(lvNames).size !== lvNames.length) problems.push("lvm.lvs: logical volume names must be unique");
  manifest.filesystems.forEach((fs, index) => {
    if (fs.on.startsWith("lv:") && !lvNames.includes(fs.on.slice(3))) {
      problems.push(`filesystems[${index}].on: no logical volume "${fs.on.slice(3)}" in lvm.lvs`);
    }
    if (fs.on === `partition:${manifest.target.lvmPartition}`) {
      problems.push(`filesystems[${index}].on: partition ${manifest.target.lvmPartition} is the LVM partition`);
    }
  });
  const mountpoints = manifest.filesystems.flatMap((fs) => (fs.mountpoint ? [fs.mountpoint] : []));
  if (!mountpoints.includes("/")) problems.push("filesystems: one filesystem must have mountpoint \"/\"");
  if (new Set(mountpoints).size !== mountpoints.length) problems.push("filesystems: mountpoints must be unique");
  if (manifest.slots) problems.push(...slotProblems(manifest, manifest.slots));
  if (lvNames.includes(RESERVE_PLACEHOLDER_LV)) problems.push(`lvm.lvs: "${RESERVE_PLACEHOLDER_LV}" is the name of the placeholder that keeps the snapshot reserve free during the migration`);
  if (manifest.snapshots) problems.push(...snapshotProblems(manifest, manifest.snapshots));
  const stagingDir = stagingDirProblem(manifest.payload.stagingDir);
  if (stagingDir) problems.push(stagingDir);
  if (problems.length > 0) {
    throw new ManifestError(`${source} is inconsistent:\n  ${problems.join("\n  ")}`, fixHint(source), { problems });
  }
}

/** The slot layout docs/SLOTS.md describes: A is the root filesystem, B a spare of its own, /boot a shared ext4 partition. */
function slotProblems(manifest: Manifest, slots: SlotsSpec): string[] {
  const problems: string[] = [];
  const fsOn = (lv: string) => manifest.filesystems.find((fs) => fs.on === `lv:${lv}`);
  if (slots.a === slots.b) problems.push(`slots: a and b must be two logical volumes, both are "${slots.a}"`);
  for (const [key, lv] of [["a", slots.a], ["b", slots.b]] as const) {
    if (!manifest.lvm.lvs.some((spec) => spec.name === lv)) problems.push(`slots.${key}: no logical volume "${lv}" in lvm.lvs`);
  }
  if (fsOn(slots.a)?.mountpoint !== "/") problems.push(`slots.a: the filesystem on lv:${slots.a} must have mountpoint "/" (slot A holds the migrated system)`);
  const spare = fsOn(slots.b);
  if (!spare) problems.push(`slots.b: lv:${slots.b} needs a filesystem entry (no mountpoint): the resume store and the first slot install use it`);
  else if (spare.mountpoint) problems.push(`slots.b: the filesystem on lv:${slots.b} must have no mountpoint: the other slot is not mounted by the running one`);
  if (!manifest.tinySystem) problems.push("slots: tinySystem (kernel and initramfs) is needed: it stays on /boot as the rescue entry when no slot boots");
  const boot = manifest.filesystems.find((fs) => fs.mountpoint === "/boot");
  if (!boot || !boot.on.startsWith("partition:")) problems.push('slots: a filesystem with mountpoint "/boot" on a partition is needed: GRUB, its environment block and the rescue system live there, shared by both slots');
  else if (boot.type !== "ext4") problems.push('slots: the "/boot" filesystem must be ext4: GRUB counts boot tries by rewriting its environment block in place, which it does not do on xfs');
  return problems;
}

/** The reserve fits beside the percent LVs; the factory LV is a plain LV, apart from the slots, that holds slot A. */
function snapshotProblems(manifest: Manifest, snapshots: SnapshotsSpec): string[] {
  const problems: string[] = [];
  if (!manifest.slots) problems.push("snapshots: needs slots (the snapshot records and the factory point live on the slots' shared /boot, and merge restores slot state)");
  const percent = (size: string) => (size.endsWith("%") ? Number(size.slice(0, -1)) : 0);
  const percents = manifest.lvm.lvs.reduce((sum, lv) => sum + percent(lv.size), 0) + percent(snapshots.reserve);
  if (/^0+(%|[A-Za-z]+)$/.test(snapshots.reserve)) problems.push("snapshots.reserve: 0 leaves no room for any snapshot");
  if (percents > 100) problems.push(`snapshots.reserve: ${snapshots.reserve} with the logical volumes' percentages is ${percents}% of the volume group`);
  const factory = snapshots.factoryLv;
  if (factory !== undefined) {
    const spec = manifest.lvm.lvs.find((lv) => lv.name === factory);
    if (!spec) problems.push(`snapshots.factoryLv: no logical volume "${factory}" in lvm.lvs`);
    if (manifest.slots && (factory === manifest.slots.a || factory === manifest.slots.b)) problems.push(`snapshots.factoryLv: "${factory}" is a slot; the factory image needs an LV of its own`);
    if (manifest.filesystems.some((fs) => fs.on === `lv:${factory}`)) problems.push(`snapshots.factoryLv: lv:${factory} must have no filesystem entry (it holds a copy of slot A's whole LV, made after the migration)`);
    const slotA = manifest.slots && manifest.lvm.lvs.find((lv) => lv.name === manifest.slots!.a);
    if (spec && slotA && isAbsolute(spec.size) && isAbsolute(slotA.size) && parseBytes(spec.size) < parseBytes(slotA.size)) {
      problems.push(`snapshots.factoryLv: "${factory}" (${spec.size}) is smaller than slot A "${slotA.name}" (${slotA.size}), whose image it keeps`);
    }
  }
  return problems;
}

const isAbsolute = (size: string) => /^\d+[A-Za-z]+$/.test(size);

const fixHint = (source: string) =>
  `Fix ${source} (schema: \`va-agent schema\`) or rebuild the bundle with build.ts; nothing on this machine was changed.`;

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
