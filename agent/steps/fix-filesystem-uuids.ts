import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expectedUuid, type FstabEntry, parseFstab } from "../disk/fstab.ts";
import { VerificationError } from "../errors/errors.ts";
import type { PlannedFilesystem } from "../plan/plan.ts";
import { type PlanContext, runCommands, type Step, type StepContext } from "./step.ts";

/** Gives /boot (and any filesystem the manifest marks) the UUID the new fstab expects, then checks every entry resolves. */
export const fixFilesystemUuids: Step = {
  name: "fix-filesystem-uuids",
  summary: "set filesystem UUIDs to what the new fstab expects; check every fstab entry resolves",
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

async function checkFstabResolves(ctx: StepContext, entries: FstabEntry[]): Promise<void> {
  const unresolved: string[] = [];
  for (const entry of entries.filter((e) => !["proc", "sysfs", "tmpfs", "devpts", "none"].includes(e.type))) {
    const [tag, value] = entry.spec.includes("=") ? entry.spec.split("=", 2) : [undefined, entry.spec];
    const argv = tag ? ["blkid", "--match-token", `${tag}=${value}`, "--output", "device"] : ["blkid", value!];
    const result = await ctx.run.run(argv, { readOnly: true, allowFailure: true });
    if (result.status !== 0 && !entry.options.split(",").includes("nofail")) unresolved.push(`${entry.spec} (${entry.mountpoint})`);
  }
  if (unresolved.length > 0) {
    throw new VerificationError(
      `fstab entries of the new root resolve to no device: ${unresolved.join(", ")}`,
      "The new system would stop in emergency mode: make the manifest's filesystems match the payload's /etc/fstab.",
      { unresolved },
    );
  }
}
