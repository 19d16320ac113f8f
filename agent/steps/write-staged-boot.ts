import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { carriedArgs, runningCmdline } from "../bootloader/resume-entry.ts";
import { coreLbaOf, isPlacedAt, placedCoreImage, STAGED_BOOT_MODULES, stagedBootConfig, grubBootSector } from "../bootloader/staged-boot-image.ts";
import { TINY_CMDLINE } from "../bootloader/tiny-cmdline.ts";
import { rangeEnd, SECTOR, type SectorRange } from "../disk/sector-ranges.ts";
import type { StagedBoot } from "../plan/staged-boot.ts";
import { LayoutError } from "../errors/errors.ts";
import { installedName } from "../preflight/tiny-tools.ts";
import { encodeStagedMap, stagedMapArg } from "../workflow/staged-map.ts";
import type { PlanContext, Step } from "./step.ts";

/** Where GRUB's i386-pc images and modules are in the tiny system (Debian and EL alike). */
export const GRUB_I386_PC_DIR = "/usr/lib/grub/i386-pc";

/** Files in the work directory (RAM): the boot sector wipe-old-system writes, and what built it. */
export const STAGED_BOOT_SECTOR_FILE = "staged-boot-sector.bin";
const CONFIG_FILE = "staged-boot.cfg";
const CORE_FILE = "staged-core.img";

/**
 * Before the point of no return: writes the staged boot code (a GRUB core image that loads the
 * tiny kernel and initramfs from their staged sectors) and the staged map into unused sectors
 * before the first partition, and prepares the boot sector that will point at it. The old system
 * does not use those sectors and still boots as before; wipe-old-system's first write (the boot
 * sector) is what switches the disk over. Without a staged-boot plan it does nothing and window A
 * stays open (the plan says why).
 */
export const writeStagedBoot: Step = {
  name: "write-staged-boot",
  summary: "write boot code that starts the tiny system from the staged files into unused sectors before the first partition",
  destructive: false,
  commands: (ctx: PlanContext) => {
    const staged = stagedBootOf(ctx);
    return staged ? [grubMkimageCommand(ctx, "grub-mkimage")] : [];
  },
  async run(ctx) {
    const staged = stagedBootOf(ctx);
    const sectorFile = join(ctx.paths.workDir, STAGED_BOOT_SECTOR_FILE);
    rmSync(sectorFile, { force: true });
    if (!staged) {
      ctx.log.warn(`window A stays open: ${"openBecause" in ctx.plan.stagedBoot ? ctx.plan.stagedBoot.openBecause : "no staged boot plan"}`);
      return;
    }
    const disk = ctx.plan.disk.path;
    const map = encodeStagedMap(ctx.plan, ctx.manifest);
    const mapSectors = Math.ceil(map.length / SECTOR);
    const mapLba = rangeEnd(staged.kit) - mapSectors;
    const location = { disk, lba: mapLba, bytes: map.length, sha256: createHash("sha256").update(map).digest("hex") };
    const cmdline = [...carriedArgs(runningCmdline()), TINY_CMDLINE, "va.mode=migrate", stagedMapArg(location)].join(" ");
    writeFileSync(join(ctx.paths.workDir, CONFIG_FILE), stagedBootConfig(filesOf(staged), cmdline));
    await ctx.run.run(grubMkimageCommand(ctx, installedName("grub-mkimage")));
    const core = placedCoreImage(readFileSync(join(ctx.paths.workDir, CORE_FILE)), staged.kit.start);
    if (staged.kit.start + core.length / SECTOR > mapLba) {
      throw new LayoutError(
        `the staged boot code (${core.length / SECTOR} sectors) and map (${mapSectors}) do not fit in the ${staged.kit.count} sectors before the first partition`,
        "Nothing was changed. Report this with the agent log.",
      );
    }
    const sector0 = await ctx.run.readSectors(disk, 0, 1);
    // A staged-boot resume finds the boot sector loading the kit it booted from: never rewrite that in place.
    if (coreLbaOf(sector0) !== staged.kit.start) {
      const inUse = kitInUse(await ctx.run.readSectors(disk, staged.kit.start, staged.kit.count), staged.kit);
      if (inUse) {
        ctx.log.warn(`window A stays open: sectors ${staged.kit.start}–${rangeEnd(staged.kit) - 1} before the first partition hold ${inUse}; they are left alone`);
        return;
      }
      await ctx.run.writeSectors(disk, staged.kit.start, core, "staged boot code");
      await ctx.run.writeSectors(disk, mapLba, padded(map), "staged map");
    }
    const bootImg = await ctx.run.readSectors(join(GRUB_I386_PC_DIR, "boot.img"), 0, 1);
    const boot = grubBootSector(bootImg, sector0, staged.kit.start);
    writeFileSync(sectorFile, boot);
    ctx.log.info(`staged boot code at sectors ${staged.kit.start}–${rangeEnd(staged.kit) - 1} of ${disk}: a power cut from the point of no return until the resume store is ready boots the tiny system from the staged files`);
  },
};

export function stagedBootOf(ctx: PlanContext): StagedBoot | undefined {
  return "plan" in ctx.plan.stagedBoot ? ctx.plan.stagedBoot.plan : undefined;
}

function filesOf(staged: StagedBoot): { kernel: SectorRange[]; initramfs: SectorRange[] } {
  const of = (role: string) => staged.files.find((f) => f.role === role)!.ranges;
  return { kernel: of("kernel"), initramfs: of("initramfs") };
}

function grubMkimageCommand(ctx: PlanContext, tool: string): string[] {
  const work = ctx.paths.workDir;
  return [tool, "-O", "i386-pc", "-d", GRUB_I386_PC_DIR, "-c", join(work, CONFIG_FILE), "-p", "/va-staged-boot", "-o", join(work, CORE_FILE), ...STAGED_BOOT_MODULES];
}

/**
 * Why the kit's sectors may not be written, or undefined: they must be unused (all zero) or hold a
 * kit of an earlier, interrupted attempt (a power cut before the point of no return), recognised
 * by its first sector loading the rest from the sector after it, as placedCoreImage writes it.
 */
export function kitInUse(bytes: Buffer, kit: SectorRange): string | undefined {
  if (bytes.every((b) => b === 0)) return undefined;
  if (isPlacedAt(bytes.subarray(0, SECTOR), kit.start)) return undefined;
  return "data of another boot loader or tool";
}

function padded(bytes: Buffer): Buffer {
  const out = Buffer.alloc(Math.ceil(bytes.length / SECTOR) * SECTOR);
  bytes.copy(out);
  return out;
}
