import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { mountedTargets } from "../disk/mounts.ts";
import { REMOVE_STEP, STORE_META_FILE, storeDir } from "../workflow/resume-store.ts";
import { resumeBootDirInTarget } from "./arm-resume-boot.ts";
import type { PlanContext, Step } from "./step.ts";

/**
 * Runs after install-bootloader has pointed the boot sector at the new system's GRUB: the resume
 * kit on /boot and the resume store are no longer on any boot path. The store's commit marker goes
 * first, so a half-removed store is never mistaken for one to resume from; the resume LV keeps its
 * (now empty) filesystem for its later role as slot B.
 */
export const removeResumeEntry: Step = {
  name: REMOVE_STEP,
  summary: "remove the resume kit from /boot and the resume store from its LV",
  destructive: true,
  requires: ["target"],
  commands: (ctx: PlanContext) => (ctx.plan.resume ? [["umount", ctx.paths.resumeDir], ["sync"]] : [["sync"]]),
  async run(ctx) {
    const store = storeDir(ctx.paths);
    if (existsSync(join(store, STORE_META_FILE))) rmSync(join(store, STORE_META_FILE));
    rmSync(store, { recursive: true, force: true });
    rmSync(resumeBootDirInTarget(ctx), { recursive: true, force: true });
    if (ctx.plan.resume && mountedTargets().has(ctx.paths.resumeDir)) await ctx.run.run(["umount", ctx.paths.resumeDir]);
    await ctx.run.run(["sync"]);
  },
};
