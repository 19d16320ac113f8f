import type { MigrationPlan } from "./plan.ts";
import { formatArgv } from "../runner/argv-text.ts";
import { MIGRATION_STEPS } from "../steps/index.ts";
import type { PlanContext } from "../steps/step.ts";
import { SECTOR_BYTES } from "../disk/gpt-backup.ts";

/** The human-readable plan: the machine as probed, then every step with every command it would run. */
export function renderPlan(ctx: PlanContext): string {
  const { plan, manifest } = ctx;
  const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  const old = plan.oldSystem;
  const lines = [
    `va-agent plan: ${manifest.product.name} ${manifest.product.release}`,
    `  old system : ${old.root.osRelease.PRETTY_NAME ?? old.root.osRelease.ID ?? "?"} (${old.root.fstype} on ${old.root.device})`,
    `  target disk: ${plan.disk.path} ${gib(plan.disk.sizeBytes)}${plan.disk.transport ? ` (${plan.disk.transport})` : ""}; old VGs: ${old.volumeGroups.join(", ") || "none"}`,
    `  layout     : ${gib(plan.layout.diskSectors * SECTOR_BYTES)} reference disk; ${
      plan.growLvmPartition
        ? `partition ${plan.growLvmPartition.number} grows by ${gib((plan.growLvmPartition.toLastLba - plan.growLvmPartition.fromLastLba) * SECTOR_BYTES)}`
        : "no growth"
    }`,
    ...plan.partitions.map((p) => `    ${p.device.padEnd(18)} ${p.typeCode.padEnd(5)} ${p.name}`),
    `  volumes    : VG ${plan.lvm.vg} on ${plan.lvm.pv}: ${plan.lvm.volumes.map((v) => `${v.name} (${v.sizeArgs.join(" ")})`).join(", ")}`,
    `  filesystems: ${plan.filesystems.map((fs) => `${fs.device} ${fs.type}${fs.mountpoint ? ` ${fs.mountpoint}` : ""}`).join(", ")}`,
    `  window A   : ${windowA(plan)}`,
    `  archive    : ${plan.archiveCheck === "deferred" ? "deferred: stage had no xz; check-payload-archive checks its members here, before the point of no return" : "checked at stage"}`,
    "",
  ];
  MIGRATION_STEPS.forEach((step, index) => {
    const marker = step.destructive ? (MIGRATION_STEPS.findIndex((s) => s.destructive) === index ? " [POINT OF NO RETURN]" : " [destructive]") : "";
    lines.push(`${String(index + 1).padStart(2)}. ${step.name}${marker}: ${step.summary}`);
    for (const argv of step.commands(ctx)) lines.push(`      + ${formatArgv(argv)}`);
  });
  return `${lines.join("\n")}\n`;
}

/** docs/RESUME.md: whether a power cut between the point of no return and the resume store boots anything. */
function windowA(plan: MigrationPlan): string {
  if ("openBecause" in plan.stagedBoot) return `open (a power cut before the resume store is ready needs manual recovery): ${plan.stagedBoot.openBecause}`;
  const { kit, files } = plan.stagedBoot.plan;
  return `closed: staged boot code at sectors ${kit.start}+${kit.count}, ${files.length} staged files read from their sectors (${files.reduce((n, f) => n + f.ranges.length, 0)} ranges)`;
}
