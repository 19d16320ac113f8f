import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** Reads a file of the system under `root` (the live `/` on the old system, a fixture tree in tests). */
export function readRootFile(root: string, path: string): string | undefined {
  const full = join(root, path);
  return existsSync(full) && statSync(full).isFile() ? readFileSync(full, "utf8") : undefined;
}

/** File names in a directory of the system under `root`, sorted; none when it does not exist. */
export function listRootDir(root: string, dir: string, filter: (name: string) => boolean = () => true): string[] {
  const full = join(root, dir);
  if (!existsSync(full) || !statSync(full).isDirectory()) return [];
  return readdirSync(full)
    .filter((name) => filter(name) && statSync(join(full, name)).isFile())
    .sort();
}
