import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Runner } from "../runner/runner.ts";
import type { FreeSpace } from "./stage-facts.ts";

/** Free bytes of the filesystem that holds `path` (or its nearest existing parent), via `df`. */
export async function freeSpaceOf(run: Runner, root: string, path: string): Promise<FreeSpace> {
  const existing = nearestExisting(root, path);
  const result = await run.run(["df", "-B1", "--output=avail,target", existing], { readOnly: true, allowFailure: true });
  const parsed = result.status === 0 ? parseDf(result.stdout) : null;
  return { path, mountpoint: parsed?.mountpoint ?? null, freeBytes: parsed?.freeBytes ?? null };
}

/** `df -B1 --output=avail,target`: a header line, then "AVAIL TARGET". */
export function parseDf(output: string): { freeBytes: number; mountpoint: string } | null {
  const match = /^\s*(\d+)\s+(\S.*?)\s*$/.exec(output.trim().split("\n")[1] ?? "");
  return match ? { freeBytes: Number(match[1]), mountpoint: match[2]! } : null;
}

/** The staging directory may not exist yet: ask about the directory `stage` would create it in. */
function nearestExisting(root: string, path: string): string {
  let current = path;
  while (current !== "/" && !existsSync(join(root, current))) current = dirname(current);
  return current;
}
