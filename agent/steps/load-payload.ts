import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { CARRY_OVER_ARCHIVE_FILE, payloadFileMode } from "../carry-over/captured-config.ts";
import { copyFileAtomically } from "../disk/write-file-atomically.ts";
import type { FileRef } from "../manifest/manifest.ts";
import { stagingDirOf } from "../manifest/staging-dir.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import { copyRangesVerified, copyVerified, isIntact, RESTAGE_REMEDY } from "../payload/copy-verified.ts";
import { tmpfsSizeCommand } from "../plan/memory.ts";
import { type StagedFile, stagedBootOf } from "../resume/staged-boot.ts";
import { choice, command, type Condition, type Entry, mount, write } from "./entry.ts";
import type { PlanContext, Step } from "./step.ts";

/**
 * Copies the payload from the old root into RAM and verifies it, before anything is destroyed:
 * the rootfs archive, the captured config, and the tiny system's own kernel and initramfs (staged
 * by `stage` from the bundle), which arm-resume-boot puts on the new disk once the old one is gone.
 */
export const loadPayload: Step = {
  name: "load-payload",
  summary: "copy the rootfs archive, tiny kernel/initramfs and captured config from the old root to tmpfs, verifying SHA-256",
  destructive: false,
  entries: (ctx: PlanContext): Entry[] => {
    const staged = stagedBootOf(ctx);
    // /run's default cap (20 % of RAM) would run out mid-copy on a small box: size it first.
    return [command(tmpfsSizeCommand(ctx.plan.memory)), ...(staged ? staged.files.map((file) => fromSectors(ctx, file)) : fromOldRoot(ctx))];
  },
};

/**
 * With a staged boot the payload is read straight from the sectors the plan mapped it to (no
 * mount): one read that also proves, before the point of no return, that a staged-boot resume
 * will find every byte. A mismatch is a damaged staged file or a wrong map: PayloadError, nothing changed.
 */
function fromSectors(ctx: PlanContext, file: StagedFile): Entry {
  const destination = join(ctx.paths.payloadDir, file.file);
  return write(
    destination,
    `read from ${file.ranges.length} sector range(s) of ${ctx.plan.disk.path}, SHA-256 verified`,
    async (run) => {
      mkdirSync(run.paths.payloadDir, { recursive: true });
      await copyRangesVerified(run.run, run.plan.disk.path, file.ranges, destination, file, RESTAGE_REMEDY, run.log.progress(`loading ${file.file}`));
    },
    intactAlready(destination, file),
  );
}

function fromOldRoot(ctx: PlanContext): Entry[] {
  const staged = join(ctx.paths.oldRootMount, stagingDirOf(ctx.manifest));
  const members = payloadMembers(ctx);
  const copies = members.map((ref) => {
    const destination = join(ctx.paths.payloadDir, ref.file);
    return write(
      destination,
      `copied from ${join(staged, ref.file)}, SHA-256 verified`,
      async (run) => {
        mkdirSync(run.paths.payloadDir, { recursive: true });
        await copyVerified(join(staged, ref.file), destination, ref, RESTAGE_REMEDY, run.log.progress(`loading ${ref.file}`));
      },
      intactAlready(destination, ref),
    );
  });
  const carried = [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE].map((file) => {
    const source = join(staged, file);
    const destination = join(ctx.paths.payloadDir, file);
    return write(destination, `copied from ${source}`, () => copyFileAtomically(source, destination, { mode: payloadFileMode(destination) }), {
      says: `stage left no ${file} (the new OS keeps its own defaults for what it carries)`,
      holds: () => !existsSync(join(staged, CAPTURED_CONFIG_FILE)) || !existsSync(source),
    });
  });
  const allIntact: Condition = {
    says: `every payload file is in RAM and intact already (${members.map((ref) => ref.file).join(", ")})`,
    holds: async () => {
      for (const ref of members) if (!(await isIntact(join(ctx.paths.payloadDir, ref.file), ref))) return false;
      return true;
    },
  };
  return [choice(allIntact, [], [mount(mountOldRootCommand(ctx)), ...copies, ...carried, command(["umount", ctx.paths.oldRootMount])])];
}

function intactAlready(destination: string, ref: FileRef): Condition {
  return { says: `${destination} is in RAM and intact already`, holds: () => isIntact(destination, ref) };
}

/** What must be in RAM before the point of no return. */
export function payloadMembers(ctx: PlanContext): FileRef[] {
  const tiny = ctx.manifest.tinySystem;
  return [ctx.manifest.payload.rootfs, ...(tiny ? [tiny.kernel, tiny.initramfs] : [])];
}

function mountOldRootCommand(ctx: PlanContext): string[] {
  const root = ctx.plan.oldSystem.root;
  return ["mount", "-o", "ro", "-t", root.fstype, root.device, ctx.paths.oldRootMount];
}
