import { rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rereadPartitionsEntries } from "../disk/reread-partitions.ts";
import { writeGptFromImage } from "../disk/gpt-writer.ts";
import { stagedBootOf } from "../resume/staged-boot.ts";
import { command, type Entry, write } from "./entry.ts";
import type { PlanContext, Step } from "./step.ts";

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
  entries: (ctx: PlanContext): Entry[] => {
    const { disk, partitions } = ctx.plan;
    const image = stagedBootOf(ctx) ? join(ctx.paths.workDir, GPT_IMAGE_FILE) : undefined;
    const sgdisk = sgdiskCommands(ctx, image ?? disk.path).map((argv) => command(argv));
    const newGpt = image
      ? [
          write(image, `an empty sparse scratch image of ${disk.sectors} sectors`, () => {
            rmSync(image, { force: true });
            writeFileSync(image, "");
            truncateSync(image, disk.sectors * 512);
          }),
          ...sgdisk,
          write(disk.path, "the GPT's sectors from the scratch image, then the protective MBR with the boot code of sector 0 kept", async (run) => {
            await writeGptFromImage(run.run, image, disk.path);
            run.log.info(`new GPT written to ${disk.path}, the staged boot code in sector 0 kept`);
          }),
        ]
      : [command(["sgdisk", "--zap-all", disk.path]), ...sgdisk];
    return [
      ...newGpt,
      ...rereadPartitionsEntries(disk.path),
      ...partitions.map((p) => command(["wipefs", "--all", "--force", p.device])),
      ...(image ? [write(image, "removed", () => rmSync(image, { force: true }))] : []),
    ];
  },
};

function sgdiskCommands(ctx: PlanContext, target: string): string[][] {
  const { partitions, moveBackupHeader, growLvmPartition } = ctx.plan;
  const layoutFile = join(ctx.paths.payloadDir, ctx.manifest.target.partitionTable.file);
  const commands = [["sgdisk", `--load-backup=${layoutFile}`, target]];
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
  return commands;
}
