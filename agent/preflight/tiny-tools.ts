import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { ToolMissingError } from "../errors/errors.ts";

/**
 * Tools the tiny system must have before the point of no return: a tool missing there is found by
 * a command exiting 127 — after the old system is wiped, if it is first used by a later step.
 * Pure over the planned commands (agent/steps/whole-step.ts plannedMigrationCommands), so `migrate` can check them all
 * right after planning, and `plan` can show the result.
 */

/** Tools steps run besides their planned commands (probing, re-reading partitions, resolving UUIDs). */
export const TINY_RUNTIME_TOOLS = ["mount", "umount", "lvm", "udevadm", "blkid", "partx", "blockdev", "sync"] as const;

/**
 * The tools the planned commands need in the tiny system: argv[0], minus commands run inside the
 * new root (`chroot ROOT TOOL`: those come with the payload), minus run-time placeholders (`<…>`),
 * plus the decompressor GNU tar calls for `--xz` / `--zstd`.
 */
export function requiredTinyTools(commands: readonly (readonly string[])[], extra: readonly string[] = TINY_RUNTIME_TOOLS): string[] {
  const tools = new Set<string>();
  for (const argv of commands) {
    const tool = argv[0];
    if (!tool || tool.startsWith("<")) continue;
    tools.add(tool);
    if (tool === "tar" && argv.includes("--xz")) tools.add("xz");
    if (tool === "tar" && argv.includes("--zstd")) tools.add("zstd");
  }
  for (const tool of extra) tools.add(tool);
  return [...tools].sort();
}

/**
 * Tools whose name differs between systems built from Debian and from EL roots, each name in the
 * order tried: the one list for the build (which copies the first the sysroot has) and the agent.
 */
export const TOOL_ALIASES: Readonly<Record<string, readonly string[]>> = {
  "grub-install": ["grub-install", "grub2-install"],
  "grub-mkimage": ["grub-mkimage", "grub2-mkimage"],
  "grub-probe": ["grub-probe", "grub2-probe"],
};

export function missingTinyTools(commands: readonly (readonly string[])[], exists: (tool: string) => boolean, extra?: readonly string[]): string[] {
  return requiredTinyTools(commands, extra).filter((tool) => !(TOOL_ALIASES[tool] ?? [tool]).some(exists));
}

/** Throws ToolMissingError (exit 8) naming every missing tool; call it before the first destructive step. */
export function checkTinyTools(commands: readonly (readonly string[])[], exists: (tool: string) => boolean, extra?: readonly string[]): void {
  const missing = missingTinyTools(commands, exists, extra);
  if (missing.length > 0) throw new ToolMissingError(missing.join(", "));
}

/** The real lookup: an executable file of that name in a PATH directory (default: this process's PATH). */
export function onPath(pathVariable = process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"): (tool: string) => boolean {
  const dirs = pathVariable.split(":").filter(Boolean);
  return (tool) =>
    dirs.some((dir) => {
      try {
        accessSync(join(dir, tool), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/** The name `tool` has in this system (its first alias on PATH), or `tool` itself when none is there. */
export function installedName(tool: string, exists: (name: string) => boolean = onPath()): string {
  return (TOOL_ALIASES[tool] ?? [tool]).find(exists) ?? tool;
}
