import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PreflightError } from "../errors/errors.ts";
import { consolesOf, type OldBootloader } from "../bootloader/one-time-boot.ts";
import type { Runner } from "../runner/runner.ts";
import { toolsOnPath } from "../preflight/host-files.ts";

/** Finds GRUB on the old system: its directory, its one-time-boot tool, and where /boot lives. */
export async function probeOldBootloader(run: Runner, root: string): Promise<OldBootloader> {
  const grubDir = ["/boot/grub2", "/boot/grub"].find((dir) => existsSync(join(root, dir, "grub.cfg")));
  const [rebootTool] = toolsOnPath(root, ["grub2-reboot", "grub-reboot"]);
  const [mkconfigTool] = toolsOnPath(root, ["grub2-mkconfig", "grub-mkconfig"]);
  if (!grubDir || !rebootTool || !mkconfigTool) {
    throw new PreflightError(
      "this system does not boot through GRUB 2 with grub-reboot/grub2-reboot available",
      "va-agent stages the migration as a one-time GRUB entry; install the grub2-tools (EL) or grub2-common (Debian) package.",
    );
  }
  const found = await run.run(["findmnt", "--noheadings", "--output", "UUID,TARGET", "--target", join(root, "boot")], { readOnly: true });
  const [bootFsUuid, target] = found.stdout.trim().split(/\s+/);
  const cmdline = existsSync("/proc/cmdline") ? readFileSync("/proc/cmdline", "utf8") : "";
  return {
    grubDir,
    rebootTool,
    mkconfigTool,
    bootFsUuid: bootFsUuid!,
    bootIsSeparate: target === join(root, "boot"),
    consoles: consolesOf(cmdline),
  };
}
