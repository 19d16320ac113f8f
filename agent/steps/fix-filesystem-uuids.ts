import { readFileSync } from "node:fs";
import { join } from "node:path";
import { classifyFstab, expectedUuid, type FstabEntry, parseFstab } from "../disk/fstab.ts";
import { VerificationError } from "../errors/errors.ts";
import type { PlannedFilesystem } from "../plan/plan.ts";
import { type PlanContext, runCommands, type Step, type StepContext } from "./step.ts";

/** Gives /boot (and any filesystem the manifest marks) the UUID the new fstab expects, then checks the entries of the filesystems the manifest creates resolve. */
export const fixFilesystemUuids: Step = {
  name: "fix-filesystem-uuids",
  summary: "set filesystem UUIDs to what the new fstab expects; check the fstab entries of the filesystems the manifest creates resolve",
  destructive: true,
  requires: ["target"],
  commands: (ctx) => uuidTargets(ctx).flatMap((fs) => setUuidCommands(ctx, fs, "<UUID from the new /etc/fstab>")),
  async run(ctx) {
    const entries = readTargetFstab(ctx);
    for (const fs of uuidTargets(ctx)) {
      const uuid = expectedUuid(entries, fs.mountpoint!);
      if (!uuid) {
        ctx.log.warn(`the new fstab does not mount ${fs.mountpoint} by UUID; its UUID is left as created`);
        continue;
      }
      const current = await blkidValue(ctx, fs.device, "UUID");
      if (current === uuid) continue;
      await runCommands(ctx, setUuidCommands(ctx, fs, uuid));
    }
    await checkFstabResolves(ctx, entries);
  },
};

function uuidTargets(ctx: PlanContext): PlannedFilesystem[] {
  return ctx.plan.filesystems.filter((fs) => fs.uuidFromFstab && fs.mountpoint);
}

function setUuidCommands(ctx: PlanContext, fs: PlannedFilesystem, uuid: string): string[][] {
  const mountpoint = join(ctx.paths.targetRoot, fs.mountpoint!);
  const change =
    fs.type === "xfs"
      ? [["xfs_admin", "-U", uuid, fs.device]]
      : [
          ["e2fsck", "-f", "-p", fs.device],
          ["tune2fs", "-U", uuid, fs.device],
        ];
  return [["umount", mountpoint], ...change, ["udevadm", "settle", "--timeout=30"], ["mount", "-t", fs.type, fs.device, mountpoint]];
}

function readTargetFstab(ctx: StepContext): FstabEntry[] {
  const path = join(ctx.paths.targetRoot, "etc/fstab");
  try {
    return parseFstab(readFileSync(path, "utf8"));
  } catch {
    throw new VerificationError("the new root has no /etc/fstab", "The payload is incomplete: rebuild it with an fstab.");
  }
}

async function blkidValue(ctx: StepContext, device: string, tag: string): Promise<string> {
  const result = await ctx.run.run(["blkid", "-s", tag, "-o", "value", device], { readOnly: true, allowFailure: true });
  return result.stdout.trim();
}

/**
 * Only the entries the manifest creates can resolve here (the tiny system sees no network, no
 * removable media, no swap file): the rest was reported by stage's pre-flight (payload-fstab).
 */
async function checkFstabResolves(ctx: StepContext, entries: FstabEntry[]): Promise<void> {
  const verdicts = classifyFstab(entries, createdMountpoints(ctx.plan));
  const notChecked = verdicts.filter((v) => v.kind !== "created");
  if (notChecked.length > 0) ctx.log.info(`fstab entries not checked here (not made by the manifest): ${notChecked.map((v) => `${v.entry.spec} (${v.why})`).join(", ")}`);
  const unresolved: string[] = [];
  for (const { entry } of verdicts.filter((v) => v.kind === "created")) {
    const [tag, value] = entry.spec.includes("=") ? entry.spec.split("=", 2) : [undefined, entry.spec];
    const argv = tag ? ["blkid", "--match-token", `${tag}=${value}`, "--output", "device"] : ["blkid", value!];
    const result = await ctx.run.run(argv, { readOnly: true, allowFailure: true });
    if (result.status !== 0 && !entry.options.split(",").includes("nofail")) unresolved.push(`${entry.spec} (${entry.mountpoint})`);
  }
  if (unresolved.length > 0) {
    const fstab = join(ctx.paths.targetRoot, "etc/fstab");
    throw new VerificationError(
      `fstab entries of the new root for filesystems the manifest creates resolve to no device: ${unresolved.join(", ")}`,
      `The new system would stop in emergency mode. Edit ${fstab} so each names its filesystem (\`blkid\` lists them), then run \`va-agent migrate\` to go on.`,
      { unresolved },
    );
  }
}

export function createdMountpoints(plan: { filesystems: readonly PlannedFilesystem[] }): string[] {
  return plan.filesystems.flatMap((fs) => (fs.mountpoint ? [fs.mountpoint] : []));
}
