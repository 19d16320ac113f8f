import { mountLocation } from "../plan/plan.ts";
import { mount } from "./entry.ts";
import type { PlanContext, Step } from "./step.ts";

export const mountTarget: Step = {
  name: "mount-target",
  summary: "mount the new filesystems under the target root",
  destructive: false,
  entries: (ctx: PlanContext) => targetMountCommands(ctx).map((argv) => mount(argv)),
};

export function targetMountCommands(ctx: PlanContext): string[][] {
  const root = ctx.paths.targetRoot;
  return ctx.plan.mounts.map((fs) => ["mount", "-t", fs.type, fs.device, mountLocation(fs) === "/" ? root : `${root}${mountLocation(fs)}`]);
}
