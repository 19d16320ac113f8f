import { rmSync } from "node:fs";
import { join } from "node:path";
import { mountedTargets } from "../disk/mounts.ts";
import { STORE_META_FILE, storeDir } from "../resume/store.ts";
import { resumeBootDirInTarget } from "./arm-resume-boot.ts";
import { command, type Entry, write } from "./entry.ts";
import type { PlanContext, Step } from "./step.ts";

/**
 * Runs after install-bootloader has pointed the boot sector at the new system's GRUB: the resume
 * kit on /boot and the resume store are no longer on any boot path. The store's commit marker goes
 * first, so a half-removed store is never mistaken for one to resume from; the resume LV keeps its
 * (now empty) filesystem for its later role as slot B.
 */
export const removeResumeEntry: Step = {
  name: "remove-resume-entry",
  summary: "remove the resume kit from /boot and the resume store from its LV",
  destructive: true,
  requires: ["target"],
  resumeStore: "removes",
  entries: (ctx: PlanContext): Entry[] => {
    const store = storeDir(ctx.paths);
    const removed = (path: string, why = "removed") => write(path, why, () => rmSync(path, { recursive: true, force: true }));
    return [
      removed(join(store, STORE_META_FILE), "removed first: a half-removed store is never taken for one to resume from"),
      removed(store),
      removed(resumeBootDirInTarget(ctx)),
      ...(ctx.plan.resume
        ? [command(["umount", ctx.paths.resumeDir], { skipIf: { says: `${ctx.paths.resumeDir} is not mounted`, holds: () => !mountedTargets().has(ctx.paths.resumeDir) } })]
        : []),
      command(["sync"]),
    ];
  },
};
