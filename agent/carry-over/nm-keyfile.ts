import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import type { CarryOverWarning } from "./captured-config.ts";
import { type IniSection, parseIni } from "./ini-file.ts";
import { notCarried } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";

/** Where NetworkManager's keyfile plugin keeps profiles, highest priority first. */
export const NM_RUN_DIR = "/run/NetworkManager/system-connections";
export const NM_ETC_DIR = "/etc/NetworkManager/system-connections";
export const NM_LIB_DIR = "/usr/lib/NetworkManager/system-connections";

const SUFFIX = ".nmconnection";
const SECTION_ALIASES: Record<string, string> = { "802-3-ethernet": "ethernet", "802-11-wireless": "wifi", "802-11-wireless-security": "wifi-security" };

/**
 * NetworkManager's own rule (nm_keyfile_utils_ignore_filename): hidden files never; outside /etc only
 * `*.nmconnection`; in /etc any other name too (legacy keyfiles) except backups (`*~`), temporary files
 * (`.XXXXXX`, which also covers `.nmmeta`) and 802.1X certificates (`.pem`, `.der`). Other backup-looking
 * names (`.bak`, `.orig`, `.rej`) are read by NetworkManager, so they are read here.
 */
export function nmLoadsKeyfileName(name: string, dir: string = NM_ETC_DIR): boolean {
  if (name === "" || name.startsWith(".")) return false;
  if (name.endsWith(SUFFIX) && name.length > SUFFIX.length) return true;
  if (dir !== NM_ETC_DIR) return false;
  return !name.endsWith("~") && !/\.[A-Za-z0-9]{6}$/.test(name) && !/.\.(pem|der)$/i.test(name);
}

/** One profile file as NetworkManager stores it. */
export interface NmProfile {
  source: string;
  sections: IniSection[];
  /** `connection.uuid`; NetworkManager derives one from the path when it is missing. */
  uuid: string;
}

/**
 * The profiles NetworkManager loads at boot: /etc and /usr/lib, one per UUID (an /etc file shadows
 * /usr/lib; among equals the newer file wins, then the later name, as NetworkManager sorts them).
 * /run holds runtime profiles, gone at reboot: named, never carried.
 */
export function loadNmProfiles(root: string): { profiles: NmProfile[]; warnings: CarryOverWarning[] } {
  const warnings: CarryOverWarning[] = [];
  const candidates = [...readDir(root, NM_ETC_DIR, 2, warnings), ...readDir(root, NM_LIB_DIR, 1, warnings)];
  const deleted = tombstones(root);
  const byUuid = new Map<string, Candidate[]>();
  for (const candidate of candidates) {
    if (candidate.priority === 1 && deleted.has(candidate.profile.uuid)) continue;
    byUuid.set(candidate.profile.uuid, [...(byUuid.get(candidate.profile.uuid) ?? []), candidate]);
  }
  const profiles: NmProfile[] = [];
  for (const group of byUuid.values()) {
    const [winner, ...losers] = group.sort(byNmPriority);
    profiles.push(winner!.profile);
    for (const loser of losers) {
      warnings.push(notCarried("nm-duplicate-uuid", `${loser.profile.source}: ${winner!.profile.source} has the same connection UUID ${loser.profile.uuid} and NetworkManager uses that one`));
    }
  }
  for (const name of listNames(root, NM_RUN_DIR).filter((n) => nmLoadsKeyfileName(n, NM_RUN_DIR))) {
    warnings.push(notCarried("nm-runtime-profile", `${NM_RUN_DIR}/${name}: a runtime profile (NetworkManager forgets it at reboot, e.g. one made from the kernel command line)`));
  }
  return { profiles: profiles.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0)), warnings };
}

interface Candidate {
  profile: NmProfile;
  priority: number;
  mtimeMs: number;
  name: string;
}

function readDir(root: string, dir: string, priority: number, warnings: CarryOverWarning[]): Candidate[] {
  return listNames(root, dir)
    .filter((name) => nmLoadsKeyfileName(name, dir))
    .flatMap((name) => {
      const source = `${dir}/${name}`;
      const stat = statSync(join(root, source));
      if (!stat.isFile()) return [];
      // NetworkManager refuses a keyfile others may read or write ("File permissions are insecure").
      if ((stat.mode & 0o077) !== 0) {
        warnings.push(notCarried("nm-keyfile-ignored", `${source}: mode ${(stat.mode & 0o777).toString(8).padStart(4, "0")}, NetworkManager ignores keyfiles readable by others`));
        return [];
      }
      const sections = parseIni(readRootFile(root, source) ?? "");
      const uuid = keyfileString(rawValue(sections, "connection", "uuid"))?.toLowerCase() || `path:${source}`;
      return [{ profile: { source, sections, uuid }, priority, mtimeMs: stat.mtimeMs, name }];
    });
}

function byNmPriority(a: Candidate, b: Candidate): number {
  return b.priority - a.priority || b.mtimeMs - a.mtimeMs || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0);
}

/** `UUID.nmmeta` links to /dev/null in /etc or /run: the /usr/lib profile of that UUID is deleted. */
function tombstones(root: string): Set<string> {
  const uuids = new Set<string>();
  for (const dir of [NM_ETC_DIR, NM_RUN_DIR]) {
    for (const name of listNames(root, dir).filter((n) => n.endsWith(".nmmeta"))) {
      const path = join(root, dir, name);
      if (lstatSync(path).isSymbolicLink() && readlinkSync(path) === "/dev/null") uuids.add(name.slice(0, -".nmmeta".length).toLowerCase());
    }
  }
  return uuids;
}

function listNames(root: string, dir: string): string[] {
  const full = join(root, dir);
  return existsSync(full) && statSync(full).isDirectory() ? readdirSync(full).sort() : [];
}

/** A key as written; NetworkManager looks a setting up by its name first, then by its alias. */
export function rawValue(sections: IniSection[], section: string, key: string): string | undefined {
  const name = sectionNameIn(sections, section);
  return sections.filter((s) => s.name === name).flatMap((s) => s.entries.filter(([k]) => k === key).map(([, v]) => v)).at(-1);
}

export function sectionNameIn(sections: IniSection[], section: string): string {
  const alias = SECTION_ALIASES[section] ?? Object.keys(SECTION_ALIASES).find((name) => SECTION_ALIASES[name] === section);
  return sections.some((s) => s.name === section) || !alias ? section : alias;
}

/** Every key of a setting, once each, in file order. */
export function keysOf(sections: IniSection[], section: string): string[] {
  const name = sectionNameIn(sections, section);
  return [...new Set(sections.filter((s) => s.name === name).flatMap((s) => s.entries.map(([k]) => k)))];
}

/** The setting names present, with aliases turned into the names NetworkManager uses. */
export function settingNames(sections: IniSection[]): string[] {
  return [...new Set(sections.map((s) => SECTION_ALIASES[s.name] ?? s.name))];
}

/** GLib key-file string escapes: `\s` `\n` `\t` `\r` `\\`. */
export function keyfileString(raw: string | undefined): string | undefined {
  return raw?.replace(/\\([sntr\\;])/g, (_, c: string) => ({ s: " ", n: "\n", t: "\t", r: "\r", "\\": "\\", ";": ";" })[c]!);
}

/** A GLib string list: `;`-separated, `\;` inside an element. */
export function keyfileList(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw
    .split(/(?<!\\);/)
    .map((item) => keyfileString(item)!.trim())
    .filter(Boolean);
}

/** GLib booleans: `true`/`false`, `1`/`0`; anything else is not a boolean. */
export function keyfileBoolean(raw: string | undefined): boolean | undefined {
  const value = raw?.trim();
  return value === "true" || value === "1" ? true : value === "false" || value === "0" ? false : undefined;
}
