import { armResumeBoot } from "./arm-resume-boot.ts";
import { applySelinuxPolicy } from "./apply-selinux-policy.ts";
import { checkPayloadArchive } from "./check-payload-archive.ts";
import { carryOverConfig } from "./carry-over-config.ts";
import { createVolumes } from "./create-volumes.ts";
import { extractRootfs } from "./extract-rootfs.ts";
import { fixFilesystemUuids } from "./fix-filesystem-uuids.ts";
import { installBootloader } from "./install-bootloader.ts";
import { loadPayload } from "./load-payload.ts";
import { makeFilesystems, makeResumeFilesystems } from "./make-filesystems.ts";
import { mountTarget } from "./mount-target.ts";
import { partitionDisk } from "./partition-disk.ts";
import { persistForResume } from "./persist-for-resume.ts";
import { rebuildInitramfs } from "./rebuild-initramfs.ts";
import { recordResult } from "./record-result.ts";
import { removeResumeEntry } from "./remove-resume-entry.ts";
import type { Step } from "./step.ts";
import { unmountTarget } from "./unmount-target.ts";
import { wipeOldSystem } from "./wipe-old-system.ts";
import { writeBootloaderConfig } from "./write-bootloader-config.ts";
import { writeSlotBoot } from "./write-slot-boot.ts";
import { writeLvmMetadata } from "./write-lvm-metadata.ts";
import { writeStagedBoot } from "./write-staged-boot.ts";

/**
 * The migration, in order. Reads like the flow in docs/DESIGN.md; docs/RESUME.md explains the
 * resume steps and why the boot loader steps come in this order (the boot sector switches from the
 * resume entry to the new system in one write, after the new grub.cfg and initramfs exist).
 */
export const MIGRATION_STEPS: readonly Step[] = [
  loadPayload,
  checkPayloadArchive,
  writeStagedBoot,
  wipeOldSystem,
  partitionDisk,
  createVolumes,
  makeResumeFilesystems,
  persistForResume,
  armResumeBoot,
  makeFilesystems,
  mountTarget,
  extractRootfs,
  fixFilesystemUuids,
  writeLvmMetadata,
  carryOverConfig,
  applySelinuxPolicy,
  rebuildInitramfs,
  writeBootloaderConfig,
  writeSlotBoot,
  installBootloader,
  recordResult,
  removeResumeEntry,
  unmountTarget,
];

export function stepNamed(name: string): Step | undefined {
  return MIGRATION_STEPS.find((step) => step.name === name);
}
