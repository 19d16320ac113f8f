import type { Manifest } from "../manifest/manifest.ts";
import { haveMiB, inhibitor, MIB, needMiB, passed, type PreflightCheck, withMargin } from "./check.ts";
import type { FreeSpace, StageFacts } from "./stage-facts.ts";

/** Room on /boot besides the tiny kernel and initramfs: GRUB's environment, a config rebuild. */
export const BOOT_SLACK_BYTES = 20 * MIB;
export const STAGING_MARGIN_PERCENT = 10;

export function checkBootSpace(facts: StageFacts, manifest: Readonly<Manifest>): PreflightCheck {
  const title = "Free space on /boot";
  const tiny = manifest.tinySystem;
  if (tiny?.kernel.bytes === undefined || tiny.initramfs.bytes === undefined) {
    return inhibitor(
      "boot-space",
      title,
      "the bundle's manifest has no tiny system kernel and initramfs sizes (tinySystem.kernel.bytes, tinySystem.initramfs.bytes)",
      "The bundle cannot boot the tiny system: get a bundle built with `build.ts bundle` from the vendor.",
    );
  }
  const needed = tiny.kernel.bytes + tiny.initramfs.bytes + BOOT_SLACK_BYTES;
  const sums = `the tiny kernel (${needMiB(tiny.kernel.bytes)}) + initramfs (${needMiB(tiny.initramfs.bytes)}) + ${needMiB(BOOT_SLACK_BYTES)} = ${needMiB(needed)}`;
  return spaceCheck("boot-space", title, facts.boot, needed, sums, (short) =>
    `Free at least ${needMiB(short)} on ${mountOf(facts.boot)}: remove old kernels (\`package-cleanup --oldkernels --count=1\` on CentOS 7, \`apt autoremove --purge\` on Debian) or old files under /boot, then run stage again.`,
  );
}

export function stagingNeeded(facts: StageFacts): number {
  return withMargin(facts.bytesToStage, STAGING_MARGIN_PERCENT);
}

export function checkStagingSpace(facts: StageFacts): PreflightCheck {
  const title = `Free space for staging in ${facts.staging.path}`;
  const needed = stagingNeeded(facts);
  const sums = `the bundle members (${needMiB(facts.bytesToStage)}) + ${STAGING_MARGIN_PERCENT} % = ${needMiB(needed)}`;
  return spaceCheck("staging-space", title, facts.staging, needed, sums, (short) =>
    `Free at least ${needMiB(short)} on ${mountOf(facts.staging)} (old logs, package caches: \`yum clean all\` / \`apt clean\`), then run stage again.`,
  );
}

function spaceCheck(
  id: string,
  title: string,
  space: FreeSpace,
  needed: number,
  sums: string,
  remedy: (shortBytes: number) => string,
): PreflightCheck {
  if (space.freeBytes === null) {
    return inhibitor(id, title, `cannot tell the free space of ${space.path} (df failed); needs ${sums}`, `Check \`df -B1 ${space.path}\` works, then run stage again.`);
  }
  const where = `${space.path} (filesystem ${space.mountpoint})`;
  if (space.freeBytes >= needed) return passed(id, title, `${haveMiB(space.freeBytes)} free on ${where}; needs ${sums}`);
  const short = needed - space.freeBytes;
  return inhibitor(id, title, `${haveMiB(space.freeBytes)} free on ${where}; needs ${sums}, ${needMiB(short)} more`, remedy(short));
}

const mountOf = (space: FreeSpace) => space.mountpoint ?? space.path;
