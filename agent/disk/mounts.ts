import { existsSync, mkdirSync, readFileSync } from "node:fs";
import type { Runner, RunOptions } from "../runner/runner.ts";

/** Mountpoints currently in use, from /proc/self/mountinfo (octal escapes decoded). */
export function mountedTargets(mountinfo = readMountinfo()): Set<string> {
  const targets = mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((field): field is string => Boolean(field))
    .map((field) => field.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))));
  return new Set(targets);
}

function readMountinfo(): string {
  return existsSync("/proc/self/mountinfo") ? readFileSync("/proc/self/mountinfo", "utf8") : "";
}

/** Runs a mount command unless its target is already mounted: mounting is idempotent for resumes. */
export async function ensureMounted(run: Runner, argv: string[], options: RunOptions = {}): Promise<void> {
  const target = argv[argv.length - 1]!;
  if (mountedTargets().has(target)) return;
  if (!run.dryRun || options.readOnly) mkdirSync(target, { recursive: true });
  await run.run(argv, options);
}

/** The API filesystems a chroot needs for grub-install and dracut. */
export function chrootBindCommands(root: string): string[][] {
  return [
    ["mount", "-t", "proc", "proc", `${root}/proc`],
    ["mount", "-t", "sysfs", "sysfs", `${root}/sys`],
    ["mount", "--rbind", "/dev", `${root}/dev`],
    ["mount", "--bind", "/run", `${root}/run`],
  ];
}
