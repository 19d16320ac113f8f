import type { PlannedFilesystem } from "../plan/plan.ts";
import type { PlanContext, Step } from "./step.ts";
import { runPlannedCommands } from "./step.ts";

export const makeFilesystems: Step = {
  name: "make-filesystems",
  summary: "create the filesystems of the layout",
  destructive: true,
  commands: (ctx: PlanContext) => ctx.plan.filesystems.map(mkfsCommand),
  run: (ctx) => runPlannedCommands(makeFilesystems, ctx),
};

export function mkfsCommand(fs: PlannedFilesystem): string[] {
  const label = fs.label ? ["-L", fs.label] : [];
  if (fs.type === "xfs") return ["mkfs.xfs", "-f", ...label, fs.device];
  return ["mkfs.ext4", "-F", "-q", ...label, fs.device];
}
