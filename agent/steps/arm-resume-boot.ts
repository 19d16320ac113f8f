import { mountLocation } from "../plan/plan.ts";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TINY_INITRAMFS_FILE, TINY_KERNEL_FILE } from "../bootloader/one-time-boot.ts";
import { carriedArgs, type ResumeBoot, resumeGrubCfg, runningCmdline } from "../bootloader/resume-entry.ts";
import { RESUME_BOOT_DIR } from "../paths.ts";
import { copyVerified, isIntact, RAM_COPY_REMEDY } from "../payload/copy-verified.ts";
import { installedName } from "../preflight/tiny-tools.ts";
import { type Arg, choice, command, type Condition, type Entry, later, mount, write } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";
import { coreLbaOf, grubBootSector, placedCoreImage } from "../bootloader/staged-boot-image.ts";
import { SECTOR, type SectorRange } from "../disk/sector-ranges.ts";
import { stagedBootOf } from "../resume/staged-boot.ts";
import { writeFileAtomically } from "../disk/write-file-atomically.ts";

/**
 * Makes the new disk boot the tiny system in migrate mode: the tiny kernel and initramfs (loaded
 * into RAM by load-payload) go to /boot/va-resume/, with a grub.cfg of one entry next to them, and
 * GRUB from the tiny system itself is installed on the disk with that directory as its prefix.
 * Kept out of /boot/grub and away from /boot/vmlinuz-* on purpose: the rootfs archive may carry
 * /boot/grub files, and the new system's grub-mkconfig must not list the tiny kernel.
 * The boot sector is written last: a power cut before it leaves no half-armed entry.
 */
export const armResumeBoot: Step = {
  name: "arm-resume-boot",
  summary: "install the tiny kernel, initramfs and a GRUB resume entry on the new disk",
  destructive: true,
  armsBoot: "resume-entry",
  reads: (manifest) => (manifest.tinySystem ? [manifest.tinySystem.kernel.file, manifest.tinySystem.initramfs.file] : []),
  applies: (ctx) => ctx.manifest.tinySystem !== undefined || "the manifest has no tinySystem: no resume boot entry; a power cut from now on needs manual recovery",
  entries: (ctx: PlanContext): Entry[] => {
    const tiny = ctx.manifest.tinySystem!;
    const dir = resumeBootDir(ctx);
    const copies = ([[tiny.kernel, TINY_KERNEL_FILE], [tiny.initramfs, TINY_INITRAMFS_FILE]] as const).map(([ref, name]) => {
      const destination = join(dir, name);
      return write(destination, `copied from ${join(ctx.paths.payloadDir, ref.file)}, SHA-256 verified`, async () => {
        mkdirSync(dir, { recursive: true });
        await copyVerified(join(ctx.paths.payloadDir, ref.file), destination, ref, RAM_COPY_REMEDY);
      }, {
        says: `${destination} is intact already`,
        holds: () => isIntact(destination, ref),
      });
    });
    const cfg = join(dir, "grub/grub.cfg");
    const region = resumeCoreRegion(ctx);
    return [
      mount(bootHolderMountCommand(ctx)),
      ...copies,
      write(cfg, "a menu of one entry: the tiny system in migrate mode, with the running kernel's carried arguments", () => {
        mkdirSync(join(dir, "grub"), { recursive: true });
        writeFileAtomically(cfg, resumeGrubCfg(resumeBoot(ctx, runningCmdline())), { mode: 0o644 });
      }),
      command(["sync"]),
      command(grubInstallCommand(ctx, grubInstallTool())),
      command(["sync"]),
      ...(region ? [choice(resumeCoreFits(region), placeResumeCore(ctx, region), [command(grubInstallCommand(ctx, grubInstallTool(), { embed: true })), command(["sync"])])] : []),
      command(["umount", bootHolderMount(ctx)]),
    ];
  },
};

/** The tool's name as planned; run by the name it has in this tiny system (grub2-install on EL). */
function grubInstallTool() {
  return later("grub-install", () => installedName("grub-install"));
}

/**
 * Where the resume entry's core.img goes: the sectors between the GPT and the first partition
 * (before the staged boot code, when there is one), not the BIOS boot partition. The new system's
 * grub-install then writes its core.img into the BIOS boot partition while the boot sector still
 * loads the resume core from here, and switches with its one boot-sector write: no moment in which
 * the boot sector points at a half-written core.img (window B, docs/RESUME.md).
 */
export function resumeCoreRegion(ctx: PlanContext): SectorRange | undefined {
  const end = stagedBootOf(ctx)?.kit.start ?? Math.min(...ctx.plan.layout.partitions.map((p) => p.firstLba));
  const start = RESUME_CORE_LBA;
  return end - start >= MIN_RESUME_CORE_SECTORS ? { start, count: end - start } : undefined;
}

/** After the primary GPT (sector 1 header, 2–33 entries). */
const RESUME_CORE_LBA = 34;
const MIN_RESUME_CORE_SECTORS = 512;

/**
 * core.img goes into one half of the region, the half the boot sector does not load from (a rerun
 * of this step after its own boot-sector write must not rewrite what boots), then the boot sector
 * switches to it; when it does not fit, grub-install embeds it in the BIOS boot partition.
 */
function resumeCoreFits(region: SectorRange): Condition {
  return {
    says: `core.img fits in half of sectors ${region.start}+${region.count} (the half the boot sector does not load from)`,
    holds: async (run) => {
      const { core, half } = await resumeCore(run, region);
      if (core.length / SECTOR <= half) return true;
      run.log.warn(`the resume core image (${core.length / SECTOR} sectors) does not fit before the first partition (${half}); it goes to the BIOS boot partition`);
      return false;
    },
  };
}

async function resumeCore(ctx: StepContext, region: SectorRange): Promise<{ core: Uint8Array; slot: number; half: number }> {
  const sector0 = await ctx.run.readSectors(ctx.plan.disk.path, 0, 1);
  const half = Math.floor(region.count / 2);
  const slot = coreLbaOf(sector0) === region.start ? region.start + half : region.start;
  return { core: placedCoreImage(readFileSync(join(resumeBootDir(ctx), "grub/i386-pc/core.img")), slot), slot, half };
}

function placeResumeCore(ctx: PlanContext, region: SectorRange): Entry[] {
  const disk = ctx.plan.disk.path;
  const half = Math.floor(region.count / 2);
  return [
    write(disk, `sectors <${region.start} or ${region.start + half}>+<size of core.img>: the resume boot code`, async (run) => {
      const { core, slot } = await resumeCore(run, region);
      await run.run.writeSectors(disk, slot, core, "resume boot code");
    }),
    write(disk, "sector 0: the boot sector, switched to the resume boot code", async (run) => {
      const sector0 = await run.run.readSectors(disk, 0, 1);
      // The half resumeCore chose: sector 0 still loads the other one.
      const slot = coreLbaOf(sector0) === region.start ? region.start + half : region.start;
      const bootImg = await run.run.readSectors(join(resumeBootDir(ctx), "grub/i386-pc/boot.img"), 0, 1);
      await run.run.writeSectors(disk, 0, grubBootSector(bootImg, sector0, slot), "boot sector (resume entry)");
    }),
  ];
}

/**
 * Where the resume kit lives while arm-resume-boot writes it: the filesystem holding /boot is
 * mounted on its own, since root is not made yet (make-filesystems comes after the store).
 */
export function resumeBootDir(ctx: PlanContext): string {
  const holder = bootHolder(ctx);
  return join(bootHolderMount(ctx), holder.mountpoint === "/boot" ? "" : "boot", RESUME_BOOT_DIR);
}

/** The same directory inside the mounted new root (for remove-resume-entry). */
export function resumeBootDirInTarget(ctx: PlanContext): string {
  const holder = bootHolder(ctx);
  return join(ctx.paths.targetRoot, holder.mountpoint === "/boot" ? mountLocation(holder) : "boot", RESUME_BOOT_DIR);
}

function bootHolder(ctx: PlanContext) {
  return ctx.plan.mounts.find((fs) => fs.mountpoint === "/boot") ?? ctx.plan.mounts.find((fs) => fs.mountpoint === "/")!;
}

function bootHolderMount(ctx: PlanContext): string {
  return join(ctx.paths.workDir, "resume-boot");
}

function bootHolderMountCommand(ctx: PlanContext): string[] {
  const holder = bootHolder(ctx);
  return ["mount", "-t", holder.type, holder.device, bootHolderMount(ctx)];
}

/**
 * --force-file-id: core.img finds its prefix by a file grub-install leaves there, not by the /boot
 * UUID that fix-filesystem-uuids is about to change. No fonts, locales or themes: the resume menu
 * has one entry and needs none of them (nor do they exist in the tiny system).
 */
export function grubInstallCommand(ctx: PlanContext, tool: Arg, options: { embed?: boolean } = {}): Arg[] {
  const placedByAgent = !options.embed && resumeCoreRegion(ctx) !== undefined;
  return [
    tool,
    "--target=i386-pc",
    `--boot-directory=${resumeBootDir(ctx)}`,
    "--force-file-id",
    "--fonts=",
    "--locales=",
    "--themes=",
    ...(placedByAgent ? ["--no-bootsector"] : []),
    ctx.plan.disk.path,
  ];
}

export function resumeBoot(ctx: PlanContext, cmdline: string): ResumeBoot {
  const holder = bootHolder(ctx);
  return {
    dir: holder.mountpoint === "/boot" ? `/${RESUME_BOOT_DIR}` : `/boot/${RESUME_BOOT_DIR}`,
    fstype: holder.type,
    onLvm: holder.device.startsWith("/dev/mapper/"),
    carried: carriedArgs(cmdline),
  };
}
