import { rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeGptFromImage } from "../disk/gpt-writer.ts";
import { rereadPartitionsWithFallback } from "../disk/reread-partitions.ts";
import type { PlanContext, Step } from "./step.ts";
import { stagedBootOf } from "./write-staged-boot.ts";

/** The scratch image (in RAM, sparse) sgdisk writes the new GPT into. */
export const GPT_IMAGE_FILE = "new-gpt.img";

/**
 * Loads the reference GPT; on a larger disk moves the backup header to the end and grows the PV
 * partition. With a staged boot, sgdisk works on a scratch image the size of the disk and only the
 * GPT's sectors are copied to the disk, the staged boot code in sector 0 kept (disk/gpt-writer.ts).
 */
export const partitionDisk: Step = {
  name: "partition-disk",
  summary: "write the new GPT from the layout, fit it to this disk, re-read partitions",
  destructive: true,
  reads: (manifest) => [manifest.target.partitionTable.file],
  commands: (ctx: PlanContext) => {
    const { disk, partitions, moveBackupHeader, growLvmPartition } = ctx.plan;
    const layoutFile = join(ctx.paths.payloadDir, ctx.manifest.target.partitionTable.file);
    // With a staged boot, sgdisk writes a scratch image; otherwise the disk itself.
    const target = stagedBootOf(ctx) ? gptImage(ctx) : disk.path;
    const commands = target === disk.path ? [["sgdisk", "--zap-all", disk.path]] : [];
    commands.push(["sgdisk", `--load-backup=${layoutFile}`, target]);
    if (moveBackupHeader) commands.push(["sgdisk", "--move-second-header", target]);
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
        target,
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
    const image = stagedBootOf(ctx) ? gptImage(ctx) : undefined;
    if (image) {
      rmSync(image, { force: true });
      writeFileSync(image, "");
      truncateSync(image, ctx.plan.disk.sectors * 512);
    }
    for (const argv of partitionDisk.commands(ctx)) {
      if (argv[0] === "blockdev") {
        if (image) {
          await writeGptFromImage(ctx.run, image, ctx.plan.disk.path);
          ctx.log.info(`new GPT written to ${ctx.plan.disk.path}, the staged boot code in sector 0 kept`);
        }
        await rereadPartitionsWithFallback(ctx.run, ctx.plan.disk.path);
      } else if (argv[0] !== "udevadm") await ctx.run.run(argv);
    }
    if (image) rmSync(image, { force: true });
  },
};

function gptImage(ctx: PlanContext): string {
  return join(ctx.paths.workDir, GPT_IMAGE_FILE);
}
