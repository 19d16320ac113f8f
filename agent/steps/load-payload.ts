import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ensureMounted } from "../disk/mounts.ts";
import { CARRY_OVER_ARCHIVE_FILE, payloadFileMode } from "../carry-over/captured-config.ts";
import { copyFileAtomically } from "../disk/write-file-atomically.ts";
import type { FileRef } from "../manifest/manifest.ts";
import { stagingDirOf } from "../manifest/staging-dir.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import { copyRangesVerified, copyVerified, isIntact, RESTAGE_REMEDY } from "../payload/copy-verified.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";
import { tmpfsSizeCommand } from "../plan/memory.ts";
import type { StagedBoot } from "../plan/staged-boot.ts";
import { stagedBootOf } from "./write-staged-boot.ts";

/**
 * Copies the payload from the old root into RAM and verifies it, before anything is destroyed:
 * the rootfs archive, the captured config, and the tiny system's own kernel and initramfs (staged
 * by `stage` from the bundle), which arm-resume-boot puts on the new disk once the old one is gone.
 */
export const loadPayload: Step = {
  name: "load-payload",
  summary: "copy the rootfs archive, tiny kernel/initramfs and captured config from the old root to tmpfs, verifying SHA-256",
  destructive: false,
  // With a staged boot the reads go to the disk's sectors in-process: no mount.
  commands: (ctx) => [tmpfsSizeCommand(ctx.plan.memory), ...(stagedBootOf(ctx) ? [] : [mountOldRoot(ctx), ["umount", ctx.paths.oldRootMount]])],
  async run(ctx) {
    // /run's default cap (20 % of RAM) would run out mid-copy on a small box: size it first.
    await ctx.run.run(tmpfsSizeCommand(ctx.plan.memory));
    mkdirSync(ctx.paths.payloadDir, { recursive: true });
    const staged = stagedBootOf(ctx);
    if (staged) return loadThroughSectors(ctx, staged);
    const missing: FileRef[] = [];
    for (const ref of payloadMembers(ctx)) {
      if (await isIntact(join(ctx.paths.payloadDir, ref.file), ref)) ctx.log.info(`${ref.file} already in RAM and intact`);
      else missing.push(ref);
    }
    if (missing.length === 0) return;
    await ensureMounted(ctx.run, mountOldRoot(ctx));
    try {
      const staged = join(ctx.paths.oldRootMount, stagingDirOf(ctx.manifest));
      for (const ref of missing) {
        await copyVerified(join(staged, ref.file), join(ctx.paths.payloadDir, ref.file), ref, RESTAGE_REMEDY, ctx.log.progress(`loading ${ref.file}`));
      }
      copyCapturedConfig(staged, ctx);
    } finally {
      await ctx.run.run(["umount", ctx.paths.oldRootMount]);
    }
  },
};

/**
 * With a staged boot the payload is read straight from the sectors the plan mapped it to: one read
 * that also proves, before the point of no return, that a staged-boot resume will find every byte.
 */
async function loadThroughSectors(ctx: StepContext, staged: StagedBoot): Promise<void> {
  for (const file of staged.files) {
    const destination = join(ctx.paths.payloadDir, file.file);
    if (await isIntact(destination, file)) continue;
    // A mismatch is a damaged staged file or a wrong map: either way PayloadError, nothing changed.
    await copyRangesVerified(ctx.run, ctx.plan.disk.path, file.ranges, destination, file, RESTAGE_REMEDY, ctx.log.progress(`loading ${file.file}`));
  }
}

/** What must be in RAM before the point of no return. */
export function payloadMembers(ctx: PlanContext): FileRef[] {
  const tiny = ctx.manifest.tinySystem;
  return [ctx.manifest.payload.rootfs, ...(tiny ? [tiny.kernel, tiny.initramfs] : [])];
}

function mountOldRoot(ctx: PlanContext): string[] {
  const root = ctx.plan.oldSystem.root;
  return ["mount", "-o", "ro", "-t", root.fstype, root.device, ctx.paths.oldRootMount];
}

/** The captured config document and the archive of carried paths, when `stage` left them. */
function copyCapturedConfig(staged: string, ctx: StepContext): void {
  if (!existsSync(join(staged, CAPTURED_CONFIG_FILE))) {
    ctx.log.info("no captured configuration staged; network and passwords will be the new OS defaults");
    return;
  }
  for (const file of [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE]) {
    const destination = join(ctx.paths.payloadDir, file);
    if (existsSync(join(staged, file))) copyFileAtomically(join(staged, file), destination, { mode: payloadFileMode(destination) });
  }
}
