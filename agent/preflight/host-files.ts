import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { StageFacts } from "./stage-facts.ts";

/** Tools `stage` may use to install and select the tiny system's boot entry, and to stage the bundle. */
export const STAGE_TOOLS = [
  "grub2-reboot",
  "grub-reboot",
  "grubby",
  "grub2-editenv",
  "grub-editenv",
  "grub2-mkconfig",
  "grub-mkconfig",
  "tar",
] as const;

/** A fixed PATH: the agent may be started by a web UI with a minimal environment. */
const SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export function toolsOnPath(root: string, tools: readonly string[] = STAGE_TOOLS): string[] {
  return tools.filter((tool) => SYSTEM_PATH.some((dir) => existsSync(join(root, dir, tool))));
}

export function readHostFile(root: string, path: string): string | null {
  try {
    return readFileSync(join(root, path), "utf8");
  } catch {
    return null;
  }
}

export function firmwareOf(root: string): StageFacts["firmware"] {
  return existsSync(join(root, "sys/firmware/efi")) ? "uefi" : "bios";
}

/** The running mode from selinuxfs; without selinuxfs SELinux is disabled (whatever the config file says). */
export function selinuxStateOf(root: string): StageFacts["selinux"] {
  const enforce = readHostFile(root, "sys/fs/selinux/enforce")?.trim();
  if (enforce === "1") return "enforcing";
  if (enforce === "0") return "permissive";
  return "disabled";
}
