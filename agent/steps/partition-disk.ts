import { join } from "node:path";
import type { PlanContext, Step } from "./step.ts";
import { rereadPartitionsWithFallback } from "../disk/reread-partitions.ts";

/** Loads the reference GPT; on a larger disk moves the backup header to the end and grows the PV partition. */
export const partitionDisk: Step = {
  name: "partition-disk",
  summary: "write the new GPT from the layout, fit it to this disk, re-read partitions",
  destructive: true,
  commands: (ctx: PlanContext) => {
    const { disk, partitions, moveBackupHeader, growLvmPartition } = ctx.plan;
    const layoutFile = join(ctx.paths.payloadDir, ctx.manifest.target.partitionTable.file);
    const commands = [
      ["sgdisk", "--zap-all", disk.path],
      ["sgdisk", `--load-backup=${layoutFile}`, disk.path],
    ];
    if (moveBackupHeader) commands.push(["sgdisk", "--move-second-header", disk.path]);
    if (growLvmPartition) {
      const part = partitions.find((p) => p.number === growLvmPartition.number)!;
      const n = part.number;
      commands.push([
        "sgdisk",
        `--delete=${n}`,
        `--new=${n}:${part.firstLba}:${growLvmPartition.toLastLba}`,
        `--typecode=${n}:${part.typeCode}`,
        `--change-name=${n}:${part.name}`,
        `--partition-guid=${n}:${part.partitionGuid}`,
        disk.path,
      ]);
    }
    commands.push(
      ["blockdev", "--rereadpt", disk.path],
      ["udevadm", "settle", "--timeout=60"],
      ...partitions.map((p) => ["wipefs", "--all", "--force", p.device]),
    );
    return commands;
  },
  async run(ctx) {
    for (const argv of partitionDisk.commands(ctx)) {
      if (argv[0] === "blockdev") await rereadPartitionsWithFallback(ctx.run, ctx.plan.disk.path);
      else if (argv[0] !== "udevadm") await ctx.run.run(argv);
    }
  },
};
