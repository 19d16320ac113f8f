import { lstatSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { type IniSection, parseIni } from "./ini-file.ts";
import { readRootFile } from "./root-files.ts";

/**
 * systemd.network(5)/systemd.netdev(5): highest precedence first. A file name in an earlier directory
 * replaces the same name in later ones; all files are then processed together in lexical order.
 */
export const NETWORKD_DIRS = ["/etc/systemd/network", "/run/systemd/network", "/usr/local/lib/systemd/network", "/usr/lib/systemd/network", "/lib/systemd/network"];

/** One configuration file with its drop-ins (`NAME.d/*.conf`) appended, as networkd reads it. */
export interface NetworkdFile {
  name: string;
  path: string;
  sections: IniSection[];
  /** Where each section came from: the main file or one of its drop-ins. */
  sectionSources: string[];
  /** Shipped by the OS (/usr/lib, /lib): defaults that match nothing are not worth a word. */
  vendor: boolean;
}

/** The `.network`, `.netdev` or `.link` files networkd uses, in its processing order; masked ones are left out. */
export function networkdFiles(root: string, suffix: ".network" | ".netdev" | ".link"): NetworkdFile[] {
  return [...effectiveEntries(root, NETWORKD_DIRS, (name) => name.endsWith(suffix))]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([name, path]) => (isMasked(root, path) ? [] : [loadWithDropIns(root, name, path)]));
}

/** Name → path of the highest-precedence directory that has it. */
function effectiveEntries(root: string, dirs: string[], wanted: (name: string) => boolean): Map<string, string> {
  const chosen = new Map<string, string>();
  for (const dir of dirs) {
    for (const name of entriesOf(root, dir)) if (wanted(name) && !chosen.has(name)) chosen.set(name, `${dir}/${name}`);
  }
  return chosen;
}

function loadWithDropIns(root: string, name: string, path: string): NetworkdFile {
  const dropIns = [...effectiveEntries(root, NETWORKD_DIRS.map((dir) => `${dir}/${name}.d`), (entry) => entry.endsWith(".conf"))]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([, dropIn]) => (isMasked(root, dropIn) ? [] : [dropIn]));
  const sections: IniSection[] = [];
  const sectionSources: string[] = [];
  for (const source of [path, ...dropIns]) {
    for (const section of parseIni(readRootFile(root, source) ?? "")) {
      sections.push(section);
      sectionSources.push(source);
    }
  }
  return { name, path, sections, sectionSources, vendor: /^\/(usr\/)?lib\//.test(path) };
}

function entriesOf(root: string, dir: string): string[] {
  try {
    return readdirSync(join(root, dir));
  } catch {
    return [];
  }
}

/** An empty file or a symlink to /dev/null masks the file of the same name (systemd.network(5)). */
function isMasked(root: string, path: string): boolean {
  const full = join(root, path);
  try {
    if (lstatSync(full).isSymbolicLink() && readlinkSync(full) === "/dev/null") return true;
    const stat = statSync(full);
    return !stat.isFile() || stat.size === 0;
  } catch {
    return true;
  }
}
