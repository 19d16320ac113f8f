import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TINY_INITRAMFS_FILE, TINY_KERNEL_FILE } from "../bootloader/one-time-boot.ts";
import { carriedArgs, type ResumeBoot, resumeGrubCfg } from "../bootloader/resume-entry.ts";
import { RESUME_BOOT_DIR } from "../paths.ts";
import { copyVerified, isIntact } from "../payload/copy-verified.ts";
import { TOOL_ALIASES } from "../preflight/tiny-tools.ts";
import type { PlanContext, Step } from "./step.ts";

/** Tool names tried in order: Debian-built tiny systems carry grub-install, EL-built ones grub2-install. */
export const GRUB_INSTALL_NAMES = TOOL_ALIASES["grub-install"]!;

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
  requires: ["target"],
  commands: (ctx: PlanContext) => (ctx.manifest.tinySystem ? [grubInstallCommand(ctx, GRUB_INSTALL_NAMES[0]), ["sync"]] : []),
  async run(ctx) {
    const tiny = ctx.manifest.tinySystem;
    if (!tiny) {
      ctx.log.warn("the manifest has no tinySystem: no resume boot entry; a power cut from now on needs manual recovery");
      return;
    }
    const dir = resumeBootDir(ctx);
    mkdirSync(join(dir, "grub"), { recursive: true });
    for (const [ref, name] of [[tiny.kernel, TINY_KERNEL_FILE], [tiny.initramfs, TINY_INITRAMFS_FILE]] as const) {
      const destination = join(dir, name);
      if (!(await isIntact(destination, ref))) await copyVerified(join(ctx.paths.payloadDir, ref.file), destination, ref);
    }
    const cfg = join(dir, "grub/grub.cfg");
    writeFileSync(`${cfg}.tmp`, resumeGrubCfg(resumeBoot(ctx, readCmdline())));
    renameSync(`${cfg}.tmp`, cfg);
    await ctx.run.run(["sync"]);
    await ctx.run.run(grubInstallCommand(ctx, grubInstallTool()));
    await ctx.run.run(["sync"]);
  },
};

/** Where the resume kit lives in the tiny system's view of the new disk. */
export function resumeBootDir(ctx: PlanContext): string {
  return join(ctx.paths.targetRoot, "boot", RESUME_BOOT_DIR);
}

/**
 * --force-file-id: core.img finds its prefix by a file grub-install leaves there, not by the /boot
 * UUID that fix-filesystem-uuids is about to change. No fonts, locales or themes: the resume menu
 * has one entry and needs none of them (nor do they exist in the tiny system).
 */
export function grubInstallCommand(ctx: PlanContext, tool: string): string[] {
  return [
    tool,
    "--target=i386-pc",
    `--boot-directory=${resumeBootDir(ctx)}`,
    "--force-file-id",
    "--fonts=",
    "--locales=",
    "--themes=",
    ctx.plan.disk.path,
  ];
}

export function resumeBoot(ctx: PlanContext, cmdline: string): ResumeBoot {
  const boot = ctx.plan.mounts.find((fs) => fs.mountpoint === "/boot");
  const holder = boot ?? ctx.plan.mounts.find((fs) => fs.mountpoint === "/")!;
  return {
    dir: boot ? `/${RESUME_BOOT_DIR}` : `/boot/${RESUME_BOOT_DIR}`,
    fstype: holder.type,
    onLvm: holder.device.startsWith("/dev/mapper/"),
    carried: carriedArgs(cmdline),
  };
}

function readCmdline(): string {
  return existsSync("/proc/cmdline") ? readFileSync("/proc/cmdline", "utf8").trim() : "";
}

function grubInstallTool(): string {
  const dirs = (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":");
  return GRUB_INSTALL_NAMES.find((name) => dirs.some((dir) => existsSync(join(dir, name)))) ?? GRUB_INSTALL_NAMES[0];
}
