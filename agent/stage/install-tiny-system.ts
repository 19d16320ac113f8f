import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  migrationMenuEntry,
  oneTimeBootCommand,
  type OldBootloader,
  withMigrationEntry,
} from "../bootloader/one-time-boot.ts";
import { tinyBootFiles } from "../bootloader/tiny-boot-files.ts";
import { nextEntryIn } from "../bootloader/grubenv.ts";
import { VerificationError } from "../errors/errors.ts";
import type { Log } from "../log/logger.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { isIntact } from "../payload/copy-verified.ts";
import type { Runner } from "../runner/runner.ts";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";

/**
 * Puts the tiny kernel and initramfs in their own directory on /boot and arms a ONE-TIME GRUB entry
 * for them: the old default entry stays the default, so any failure before the point of no return
 * boots the old system.
 */
/** `entryArgs`: what the tiny system must know from stage: the operator's decisions (staged-trust.ts), a deferred archive check (archive-check.ts). */
export async function installTinySystem(ctx: { run: Runner; log: Log; root: string; stagingDir: string; manifest: Readonly<Manifest>; boot: OldBootloader; entryArgs: string[] }): Promise<void> {
  const tiny = ctx.manifest.tinySystem!;
  const files = tinyBootFiles(join(ctx.root, "boot"));
  mkdirSync(files.dir, { recursive: true });
  for (const [ref, destination] of [[tiny.kernel, files.kernel], [tiny.initramfs, files.initramfs]] as const) {
    copyFileSync(join(ctx.stagingDir, ref.file), destination);
    if (!(await isIntact(destination, ref))) {
      throw new VerificationError(`${destination} does not match the manifest after copying`, "Check /boot for errors (dmesg) and free space, then stage again.");
    }
  }
  const grubDir = join(ctx.root, ctx.boot.grubDir);
  const customCfg = join(grubDir, "custom.cfg");
  const entry = withMigrationEntry(existsSync(customCfg) ? readFileSync(customCfg, "utf8") : "", migrationMenuEntry(ctx.boot, ctx.manifest, ctx.entryArgs));
  writeFileAtomically(customCfg, entry, modeAndOwnerOf(customCfg, 0o644));
  if (!readFileSync(join(grubDir, "grub.cfg"), "utf8").includes("custom.cfg")) {
    ctx.log.info("grub.cfg does not source custom.cfg; regenerating it");
    await ctx.run.run([ctx.boot.mkconfigTool, "-o", join(ctx.boot.grubDir, "grub.cfg")]);
  }
  await ctx.run.run(oneTimeBootCommand(ctx.boot));
  checkArmed(join(grubDir, "grubenv"));
  ctx.log.info("the next boot (only) starts the tiny system; later boots fall back to the current default entry");
}

function checkArmed(grubenv: string): void {
  const next = nextEntryIn(grubenv);
  if (!next) {
    throw new VerificationError(
      `the one-time boot entry is not armed: ${grubenv} has no next_entry`,
      "Check that /boot is writable and grub-reboot works (`grub-editenv list`), then stage again.",
    );
  }
}
