import type { PlannedFilesystem } from "../plan/plan.ts";
import { command } from "./entry.ts";
import type { PlanContext, Step } from "./step.ts";

/**
 * Before the resume store exists only the filesystems the resume path needs are made: the one
 * holding /boot (the resume entry lives there) and the store's. The others (root, data) cover
 * sectors where the staged files may still be read from, so they wait until the store is
 * committed and the resume entry armed (docs/RESUME.md, window A).
 */
export const makeResumeFilesystems: Step = {
  name: "make-resume-filesystems",
  summary: "create the filesystems the resume path needs: /boot and the resume store",
  destructive: true,
  entries: (ctx: PlanContext) => resumeFilesystems(ctx).map((fs) => command(mkfsCommand(fs))),
};

export const makeFilesystems: Step = {
  name: "make-filesystems",
  summary: "create the remaining filesystems of the layout",
  destructive: true,
  entries: (ctx: PlanContext) => {
    const early = resumeFilesystems(ctx);
    return ctx.plan.filesystems.filter((fs) => !early.includes(fs)).map((fs) => command(mkfsCommand(fs)));
  },
};

/** The filesystem holding /boot (a /boot of its own, else root) and the resume store's. */
export function resumeFilesystems(ctx: PlanContext): PlannedFilesystem[] {
  const { filesystems, resume } = ctx.plan;
  const bootHolder = filesystems.find((fs) => fs.mountpoint === "/boot") ?? filesystems.find((fs) => fs.mountpoint === "/");
  return filesystems.filter((fs) => fs === bootHolder || fs.device === resume?.device);
}

export function mkfsCommand(fs: PlannedFilesystem): string[] {
  const label = fs.label ? ["-L", fs.label] : [];
  if (fs.type === "xfs") return ["mkfs.xfs", "-f", ...label, fs.device];
  return ["mkfs.ext4", "-F", "-q", ...label, fs.device];
}
