import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { carriedArgs, runningCmdline } from "../bootloader/resume-entry.ts";
import { coreLbaOf, isPlacedAt, placedCoreImage, STAGED_BOOT_MODULES, stagedBootConfig, grubBootSector } from "../bootloader/staged-boot-image.ts";
import { TINY_CMDLINE } from "../bootloader/tiny-cmdline.ts";
import { rangeEnd, SECTOR, type SectorRange } from "../disk/sector-ranges.ts";
import { type StagedBoot, stagedBootOf } from "../resume/staged-boot.ts";
import { LayoutError } from "../errors/errors.ts";
import { installedName } from "../preflight/tiny-tools.ts";
import { encodeStagedMap, stagedMapArg } from "../resume/staged-map.ts";
import { type Arg, check, command, type Condition, type Entry, later, write } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

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
  applies: (ctx) => stagedBootOf(ctx) !== undefined || `window A stays open: ${"openBecause" in ctx.plan.stagedBoot ? ctx.plan.stagedBoot.openBecause : "no staged boot plan"}`,
  entries: (ctx: PlanContext): Entry[] => {
    const staged = stagedBootOf(ctx)!;
    const work = ctx.paths.workDir;
    const disk = ctx.plan.disk.path;
    const sectorFile = join(work, STAGED_BOOT_SECTOR_FILE);
    const map = stagedMap(ctx, staged);
    const kitRange = `${staged.kit.start}–${rangeEnd(staged.kit) - 1}`;
    const leftAlone = kitHeldByOther(staged);
    return [
      write(sectorFile, "removed (one of an earlier attempt must not switch the boot sector)", () => rmSync(sectorFile, { force: true })),
      write(join(work, CONFIG_FILE), `GRUB script: load the tiny kernel and initramfs from their sectors, command line with ${stagedMapArg(map.location)}`, () => {
        const cmdline = [...carriedArgs(runningCmdline()), TINY_CMDLINE, "va.mode=migrate", stagedMapArg(map.location)].join(" ");
        writeFileSync(join(work, CONFIG_FILE), stagedBootConfig(filesOf(staged), cmdline));
      }),
      command(grubMkimageCommand(ctx)),
      check(`the staged boot code (${join(work, CORE_FILE)}) ends before the staged map at sector ${map.location.lba}`, () => void placedCore(ctx, staged, map)),
      write(disk, `sectors ${staged.kit.start}+<size of the core image>: the staged boot code`, (run) => run.run.writeSectors(disk, staged.kit.start, placedCore(run, staged, map), "staged boot code"), kitNotWritten(staged)),
      write(disk, `sectors ${map.location.lba}+${map.sectors}: the staged map (plan and manifest)`, (run) => run.run.writeSectors(disk, map.location.lba, padded(map.bytes), "staged map"), kitNotWritten(staged)),
      write(
        sectorFile,
        `the boot sector that loads the staged boot code at sector ${staged.kit.start} (wipe-old-system writes it)`,
        async (run) => {
          const sector0 = await run.run.readSectors(disk, 0, 1);
          const bootImg = await run.run.readSectors(join(GRUB_I386_PC_DIR, "boot.img"), 0, 1);
          writeFileSync(sectorFile, grubBootSector(bootImg, sector0, staged.kit.start));
          run.log.info(`staged boot code at sectors ${kitRange} of ${disk}: a power cut from the point of no return until the resume store is ready boots the tiny system from the staged files`);
        },
        leftAlone,
      ),
    ];
  },
};

/** The staged map, its sectors at the end of the kit, and the location the command line names: all known from the plan. */
function stagedMap(ctx: PlanContext, staged: StagedBoot) {
  const bytes = encodeStagedMap(ctx.plan, ctx.manifest);
  const sectors = Math.ceil(bytes.length / SECTOR);
  const location = { disk: ctx.plan.disk.path, lba: rangeEnd(staged.kit) - sectors, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  return { bytes, sectors, location };
}

function placedCore(ctx: PlanContext, staged: StagedBoot, map: ReturnType<typeof stagedMap>): Uint8Array {
  const core = placedCoreImage(readFileSync(join(ctx.paths.workDir, CORE_FILE)), staged.kit.start);
  if (staged.kit.start + core.length / SECTOR > map.location.lba) {
    throw new LayoutError(
      `the staged boot code (${core.length / SECTOR} sectors) and map (${map.sectors}) do not fit in the ${staged.kit.count} sectors before the first partition`,
      "Nothing was changed. Report this with the agent log.",
    );
  }
  return core;
}

/** A staged-boot resume finds the boot sector loading the kit it booted from: never rewrite that in place. */
async function loadsKit(ctx: StepContext, staged: StagedBoot): Promise<boolean> {
  return coreLbaOf(await ctx.run.readSectors(ctx.plan.disk.path, 0, 1)) === staged.kit.start;
}

async function inUse(ctx: StepContext, staged: StagedBoot): Promise<string | undefined> {
  return kitInUse(await ctx.run.readSectors(ctx.plan.disk.path, staged.kit.start, staged.kit.count), staged.kit);
}

function kitNotWritten(staged: StagedBoot): Condition {
  return {
    says: `the boot sector loads the kit at sector ${staged.kit.start} already (a staged-boot resume), or ${kitHeldByOther(staged).says}`,
    holds: async (run) => (await loadsKit(run, staged)) || (await inUse(run, staged)) !== undefined,
  };
}

function kitHeldByOther(staged: StagedBoot): Condition {
  const range = `${staged.kit.start}–${rangeEnd(staged.kit) - 1}`;
  return {
    says: `sectors ${range} hold data of another boot loader or tool (left alone: window A stays open)`,
    holds: async (run) => {
      if (await loadsKit(run, staged)) return false;
      const held = await inUse(run, staged);
      if (held) run.log.warn(`window A stays open: sectors ${range} before the first partition hold ${held}; they are left alone`);
      return held !== undefined;
    },
  };
}

function filesOf(staged: StagedBoot): { kernel: SectorRange[]; initramfs: SectorRange[] } {
  const of = (role: string) => staged.files.find((f) => f.role === role)!.ranges;
  return { kernel: of("kernel"), initramfs: of("initramfs") };
}

/** The tool's name as planned; run by the name it has in this tiny system (grub2-mkimage on EL). */
function grubMkimageCommand(ctx: PlanContext): Arg[] {
  const work = ctx.paths.workDir;
  const tool = later("grub-mkimage", () => installedName("grub-mkimage"));
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
