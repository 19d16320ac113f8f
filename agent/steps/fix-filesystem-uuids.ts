import { readFileSync } from "node:fs";
import { join } from "node:path";
import { classifyFstab, expectedUuid, type FstabEntry, parseFstab } from "../disk/fstab.ts";
import { VerificationError } from "../errors/errors.ts";
import { mountLocation, type PlannedFilesystem } from "../plan/plan.ts";
import { type Arg, check, choice, command, type Condition, type Entry, type Later, later, mount } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/** Gives /boot (and any filesystem the manifest marks) the UUID the new fstab expects, then checks the entries of the filesystems the manifest creates resolve. */
export const fixFilesystemUuids: Step = {
  name: "fix-filesystem-uuids",
  summary: "set filesystem UUIDs to what the new fstab expects; check the fstab entries of the filesystems the manifest creates resolve",
  destructive: true,
  requires: ["target"],
  entries: (ctx: PlanContext) => [
    ...uuidTargets(ctx).map((fs) => choice(needsUuid(fs), setUuidCommands(ctx, fs, fstabUuid(fs)), [])),
    check("the new fstab's entries for the filesystems the manifest creates resolve to a device (nofail ones may not)", checkFstabResolves, [
      ["blkid", "--match-token", "<TAG=VALUE of each such entry>", "--output", "device"],
      ["blkid", "<device path of each such entry>"],
    ]),
  ],
};

function uuidTargets(ctx: PlanContext): PlannedFilesystem[] {
  return ctx.plan.filesystems.filter((fs) => fs.uuidFromFstab && fs.mountpoint);
}

function fstabUuid(fs: PlannedFilesystem): Later<string> {
  return later("<UUID from the new /etc/fstab>", (ctx) => expectedUuid(readTargetFstab(ctx), fs.mountpoint!)!);
}

function needsUuid(fs: PlannedFilesystem): Condition {
  const blkid = ["blkid", "-s", "UUID", "-o", "value", fs.device];
  return {
    says: `the new fstab mounts ${fs.mountpoint} by a UUID ${fs.device} does not have yet`,
    asks: [blkid],
    async holds(ctx) {
      const uuid = expectedUuid(readTargetFstab(ctx), fs.mountpoint!);
      if (!uuid) {
        ctx.log.warn(`the new fstab does not mount ${fs.mountpoint} by UUID; its UUID is left as created`);
        return false;
      }
      const current = await ctx.run.run(blkid, { readOnly: true, allowFailure: true });
      return current.stdout.trim() !== uuid;
    },
  };
}

function setUuidCommands(ctx: PlanContext, fs: PlannedFilesystem, uuid: Arg): Entry[] {
  const mountpoint = join(ctx.paths.targetRoot, mountLocation(fs));
  const change =
    fs.type === "xfs"
      ? [command(["xfs_admin", "-U", uuid, fs.device])]
      : [command(["e2fsck", "-f", "-p", fs.device]), command(["tune2fs", "-U", uuid, fs.device])];
  return [command(["umount", mountpoint]), ...change, command(["udevadm", "settle", "--timeout=30"]), mount(["mount", "-t", fs.type, fs.device, mountpoint])];
}

function readTargetFstab(ctx: StepContext): FstabEntry[] {
  const path = join(ctx.paths.targetRoot, "etc/fstab");
  try {
    return parseFstab(readFileSync(path, "utf8"));
  } catch {
    throw new VerificationError("the new root has no /etc/fstab", "The payload is incomplete: rebuild it with an fstab.");
  }
}

/**
 * Only the entries the manifest creates can resolve here (the tiny system sees no network, no
 * removable media, no swap file): the rest was reported by stage's pre-flight (payload-fstab).
 */
async function checkFstabResolves(ctx: StepContext): Promise<void> {
  const entries = readTargetFstab(ctx);
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
