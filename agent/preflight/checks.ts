import type { GptLayout } from "../disk/gpt-backup.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { checkOneTimeBootTool } from "./boot-tool-checks.ts";
import type { PreflightCheck } from "./check.ts";
import { checkDiskSize, checkTargetDisk, checkTargetDiskVolumeGroups, checkVolumeGroupName } from "./disk-checks.ts";
import { checkArchitecture, checkCpuBaseline, checkFirmware, checkRam } from "./machine-checks.ts";
import { checkProductAndRelease } from "./product-check.ts";
import { checkSelinux } from "./selinux-check.ts";
import { checkBootSpace, checkStagingSpace } from "./space-checks.ts";
import type { StageFacts } from "./stage-facts.ts";

/** Every pre-flight check, in report order; pure: the facts were probed before, the operator's decisions given. */
export function runChecks(facts: StageFacts, manifest: Readonly<Manifest>, layout: GptLayout, decisions: { allowDowngrade: boolean } = { allowDowngrade: false }): PreflightCheck[] {
  return [
    checkProductAndRelease(facts.installedProduct, manifest.product, decisions.allowDowngrade),
    checkArchitecture(facts),
    checkCpuBaseline(facts),
    checkRam(facts, manifest),
    checkFirmware(facts, manifest, layout),
    checkTargetDisk(facts),
    checkDiskSize(facts, manifest, layout),
    checkTargetDiskVolumeGroups(facts),
    checkVolumeGroupName(facts, manifest),
    checkBootSpace(facts, manifest),
    checkStagingSpace(facts),
    checkOneTimeBootTool(facts),
    checkSelinux(facts, manifest),
  ];
}
