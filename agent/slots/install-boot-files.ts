import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseFstab } from "../disk/fstab.ts";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { detectDistro } from "../distro/adapter.ts";
import { write, type Entry } from "../steps/entry.ts";
import { defaultGrubCmdline, slotBootEnv } from "./install-boot-env.ts";
import { SHARED_BOOT_MOUNT, slotBootEnvPath } from "./slot-paths.ts";
import type { InstallContext } from "./install-context.ts";
import { slotFstab } from "./install-fstab.ts";
import { hasKernelLinks, KERNEL_LINKS, writeKernelLinks } from "./install-kernel-links.ts";

/** What makes the slot boot as a slot: its fstab, its kernel arguments for the boot menu, the kernel links GRUB reads. */
export function bootFileEntries(ictx: InstallContext): Entry[] {
  const target = ictx.setup.slotTarget;
  const { device, slots, runningCmdline } = ictx.facts;
  const fstab = join(target, "etc/fstab");
  const env = slotBootEnvPath(target);
  const links = { says: "the slot image has /vmlinuz and /initrd.img (Debian's kernel packages keep them)", holds: () => hasKernelLinks(target) };
  return [
    write(fstab, `root ${device}, the shared boot partition at ${SHARED_BOOT_MOUNT} by UUID, the running system's other lines (${carriedMountpoints(ictx) || "none"}), the image's kernel filesystems`, () => {
      const payload = existsSync(fstab) ? readFileSync(fstab, "utf8") : "";
      mkdirSync(dirname(fstab), { recursive: true });
      writeFileAtomically(fstab, slotFstab({ slot: slots.target, device, fstype: ictx.facts.head.manifest.filesystem, running: ictx.facts.fstab, payload }), modeAndOwnerOf(fstab, 0o644));
      mkdirSync(join(target, SHARED_BOOT_MOUNT), { recursive: true, mode: 0o755 });
    }),
    write(
      env,
      runningCmdline === undefined ? "va_cmdline= the slot's GRUB_CMDLINE_LINUX (its /etc/default/grub; the running slot has no slot-boot.env)" : `va_cmdline=${runningCmdline} (the running slot's)`,
      () => {
        mkdirSync(dirname(env), { recursive: true });
        writeFileAtomically(env, slotBootEnv(runningCmdline ?? defaultGrubCmdline(target)), { mode: 0o644 });
      },
    ),
    write(join(target, `{${KERNEL_LINKS.join(",")}}`), "links to the newest /boot/vmlinuz-KVER and its initramfs", (ctx) => {
      const made = writeKernelLinks(target, detectDistro(target));
      ctx.log.info(`slot ${slots.target}: ${Object.entries(made).map(([link, to]) => `/${link} -> ${to}`).join(", ")}`);
    }, links),
  ];
}

function carriedMountpoints(ictx: InstallContext): string {
  return parseFstab(ictx.facts.fstab.carried.join("\n"))
    .map((entry) => entry.mountpoint)
    .join(", ");
}
