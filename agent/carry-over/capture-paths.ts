import { existsSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { type CapturedConfig, CARRY_OVER_ARCHIVE_FILE, type CarryOverWarning } from "./captured-config.ts";
import { notCarried } from "./network-findings.ts";

/** The extra files and directories the manifest names; those absent on the old system are reported. */
export function capturePaths(root: string, paths: readonly string[]): { paths: CapturedConfig["paths"]; warnings: CarryOverWarning[] } {
  const present = (path: string) => existsSync(join(root, path)) || isDanglingLink(join(root, path));
  return {
    paths: paths.filter(present).map((path) => ({ path, archive: CARRY_OVER_ARCHIVE_FILE })),
    warnings: paths.filter((path) => !present(path)).map((path) => notCarried("path-missing", `${path} does not exist on the old system`)),
  };
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
