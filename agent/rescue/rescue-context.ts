import { existsSync } from "node:fs";
import { RescueError } from "../errors/errors.ts";
import { listLogicalVolumes } from "../lvm/logical-volumes.ts";
import { listPhysicalVolumes } from "../lvm/physical-volumes.ts";
import type { Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";
import type { SlotMetadata } from "../slots/slot-metadata.ts";
import { slotsMetadataPath } from "../slots/slot-paths.ts";
import type { StepContext } from "../steps/step.ts";
import { defaultPaths } from "../paths.ts";

/** What every rescue command stands on: the runner, the shared boot partition's mount point, the VG of the slot LVs. */
export interface RescueContext {
  run: Runner;
  log: Log;
  bootMount: string;
  vg: string;
  /** ISO time stamp for the records written. */
  now(): string;
}

/** The rescue system finds the slots through slots.json on the shared boot partition (the start script mounts it). */
export function requireSharedBoot(bootMount: string): void {
  if (existsSync(slotsMetadataPath(bootMount))) return;
  throw new RescueError(
    `no slot state at ${slotsMetadataPath(bootMount)}: the shared boot partition is not mounted at ${bootMount}`,
    `Nothing was changed. Mount it (\`blkid -t TYPE=ext4\` lists the candidates; the one holding va-agent/slots.json: \`mount -t ext4 DEVICE ${bootMount}\`), or give its mount point with --boot-dir.`,
    { refusal: "no-shared-boot", bootMount },
  );
}

/**
 * slots.json's VG; a file written before the VG was recorded names none: then the one VG that holds
 * both slot LVs (asked of `lvm pvs` and `lvm lvs`, read-only).
 */
export async function slotVolumeGroup(run: Runner, metadata: SlotMetadata): Promise<string> {
  if (metadata.vg) return metadata.vg;
  const listing = await listPhysicalVolumes(run);
  if (listing.physicalVolumesFailure) {
    throw new RescueError(`slots.json names no VG and the VGs cannot be listed: ${listing.physicalVolumesFailure}`, "Nothing was changed. Check the disks (`lvm pvs`, `lsblk`); with the VG known, `--vg VG` names it.", { refusal: "vg-unknown" });
  }
  const names = [...new Set(listing.physicalVolumes.map((pv) => pv.vg))].sort();
  const wanted = [metadata.slots.A.lv, metadata.slots.B.lv];
  const holding: string[] = [];
  for (const vg of names) {
    const lvs = new Set((await listLogicalVolumes(run, vg)).map((lv) => lv.name));
    if (wanted.every((lv) => lvs.has(lv))) holding.push(vg);
  }
  if (holding.length === 1) return holding[0]!;
  throw new RescueError(
    holding.length === 0
      ? `no volume group holds both slot LVs ${wanted.join(" and ")} (VGs seen: ${names.join(", ") || "none"})`
      : `several volume groups hold both slot LVs ${wanted.join(" and ")}: ${holding.join(", ")}`,
    "Nothing was changed. Name the VG of the slots with `--vg VG` (`lvm lvs` lists the LVs of each VG).",
    { refusal: "vg-unknown", vgs: names, holding },
  );
}

export function activateVolumeGroupArgv(vg: string): string[] {
  return ["lvm", "vgchange", "--activate", "y", vg];
}

/** The rescue system leaves by a forced reboot (nothing of it needs stopping), after the page cache is on disk. */
export const REBOOT_COMMANDS: readonly (readonly string[])[] = [["sync"], ["reboot", "-f"]];

/**
 * What the entry interpreter needs to run rescue entries: they read no migration manifest and no
 * plan, so reading either is an error, loudly.
 */
export function rescueStepContext(rctx: RescueContext): StepContext {
  const none = (what: string) =>
    new Proxy({}, {
      get(_, key) {
        if (typeof key === "symbol") return undefined;
        throw new Error(`a rescue command has no ${what}: ${String(key)} was read`);
      },
    });
  return { run: rctx.run, log: rctx.log, manifest: none("migration manifest") as StepContext["manifest"], plan: none("migration plan") as StepContext["plan"], paths: defaultPaths() };
}
