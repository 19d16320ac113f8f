import { existsSync, mkdirSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { ensureMounted } from "../disk/mounts.ts";
import { CARRY_OVER_ARCHIVE_FILE } from "../carry-over/captured-config.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import { copyVerified, isIntact } from "../payload/copy-verified.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/** Copies the payload from the old root into RAM and verifies it, before anything is destroyed. */
export const loadPayload: Step = {
  name: "load-payload",
  summary: "copy the rootfs archive and captured config from the old root to tmpfs, verifying SHA-256",
  destructive: false,
  commands: (ctx) => [mountOldRoot(ctx), ["umount", ctx.paths.oldRootMount]],
  async run(ctx) {
    const rootfs = ctx.manifest.payload.rootfs;
    const destination = join(ctx.paths.payloadDir, rootfs.file);
    mkdirSync(ctx.paths.payloadDir, { recursive: true });
    if (await isIntact(destination, rootfs)) {
      ctx.log.info(`${rootfs.file} already in RAM and intact`);
      return;
    }
    await ensureMounted(ctx.run, mountOldRoot(ctx));
    try {
      const staged = join(ctx.paths.oldRootMount, ctx.stagingDir);
      await copyVerified(join(staged, rootfs.file), destination, rootfs, ctx.log.progress(`loading ${rootfs.file}`));
      copyCapturedConfig(staged, ctx);
    } finally {
      await ctx.run.run(["umount", ctx.paths.oldRootMount]);
    }
  },
};

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
    if (existsSync(join(staged, file))) copyFileSync(join(staged, file), join(ctx.paths.payloadDir, file));
  }
}
