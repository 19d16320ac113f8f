// Mutation check for the e2e suite: build a deliberately broken agent, so a run can prove the
// end-to-end checks fail when the agent is wrong (`run-e2e.ts --sabotage NAME` must report FAIL).

import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTs } from "./tiny-system.ts";

const REPO = join(import.meta.dir, "../..");

interface Sabotage {
  file: string;
  from: string;
  to: string;
}

export const SABOTAGES: Record<string, Sabotage> = {
  /** /boot keeps the UUID mkfs gave it: the new fstab's /boot entry resolves to nothing. */
  "skip-uuid-fix": { file: "agent/steps/fix-filesystem-uuids.ts", from: "if (current === uuid) continue;", to: "continue;" },
  /** GRUB from the new root is never installed: the disk keeps the tiny system's resume GRUB, whose files are removed at the end. Only the new-system boot can notice. */
  "skip-grub-install": { file: "agent/steps/install-bootloader.ts", from: "entries: (ctx: PlanContext) => [command(inChroot(ctx, (ctx.distro ?? undetectedDistro).grubInstall(ctx.plan.disk.path)))],", to: "entries: () => []," },
  /** GRUB goes to the wrong disk: the target disk keeps only the resume (or no) boot code. */
  "grub-wrong-disk": { file: "agent/steps/install-bootloader.ts", from: "grubInstall(ctx.plan.disk.path)", to: 'grubInstall("/dev/null")' },
};

export function compileSabotagedAgent(name: string): (out: string) => void {
  const sabotage = SABOTAGES[name];
  if (!sabotage) throw new Error(`unknown sabotage ${name}; known: ${Object.keys(SABOTAGES).join(", ")}`);
  return (out) => {
    const tree = mkdtempSync(join(tmpdir(), "va-sabotage-"));
    cpSync(join(REPO, "agent"), join(tree, "agent"), { recursive: true });
    symlinkSync(join(REPO, "node_modules"), join(tree, "node_modules"));
    const path = join(tree, sabotage.file);
    const text = readFileSync(path, "utf8");
    if (!text.includes(sabotage.from)) throw new Error(`sabotage ${name} no longer applies to ${sabotage.file}`);
    writeFileSync(path, text.replace(sabotage.from, sabotage.to));
    buildTs(["agent", "--out", out, "--entry", join(tree, "agent/main.ts")]);
  };
}
