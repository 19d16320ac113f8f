import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Where a root says what it is, in the order os-release(5) gives: the first that exists wins. */
const OS_RELEASE_FILES = ["etc/os-release", "usr/lib/os-release"] as const;

/** The os-release fields of the system under `root`, or undefined when it has no os-release: the one lookup for stage, the tiny system's probe and the distro adapter. */
export function readOsRelease(root: string): Record<string, string> | undefined {
  for (const file of OS_RELEASE_FILES) {
    try {
      return parseOsRelease(readFileSync(join(root, file), "utf8"));
    } catch {
      // not there: try the next
    }
  }
  return undefined;
}

/** Parses os-release(5): KEY=value lines, values optionally quoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    fields[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, "$2").replace(/\\(["$`\\])/g, "$1");
  }
  return fields;
}
