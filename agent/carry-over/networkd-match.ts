import type { IniSection } from "./ini-file.ts";
import { normalizeMac } from "./network-findings.ts";
import { listValues } from "./systemd-values.ts";

/** What networkd knows of a device when it picks its `.network`; undefined = not known here. */
export interface MatchTarget {
  name?: string;
  /** Compared with MACAddress= (for a NIC: its own MAC, the one it has before a bond takes it). */
  mac?: string;
  /** Compared with PermanentMACAddress=; virtual devices have none. */
  permanentMac?: string;
  type?: string;
  kind?: string;
  driver?: string;
}

export type MatchResult = { result: "yes" | "no" } | { result: "unknown"; keys: string[] };

const GLOB_KEYS = { Name: "name", Type: "type", Kind: "kind", Driver: "driver" } as const;

/** systemd.network(5) [Match]: every key given must match; a key this capture cannot check makes it unknown. */
export function matchDevice(sections: IniSection[], target: MatchTarget): MatchResult {
  const keys = [...new Set(sections.filter((s) => s.name === "Match").flatMap((s) => s.entries.map(([key]) => key)))];
  const unknown: string[] = [];
  for (const key of keys) {
    const values = listValues(sections, "Match", key);
    if (values.length === 0) continue;
    const verdict = matchKey(key, values, target);
    if (verdict === false) return { result: "no" };
    if (verdict === undefined) unknown.push(key);
  }
  return unknown.length > 0 ? { result: "unknown", keys: unknown } : { result: "yes" };
}

function matchKey(key: string, values: string[], target: MatchTarget): boolean | undefined {
  if (key === "MACAddress" || key === "PermanentMACAddress") {
    const wanted = values.map(normalizeMac);
    if (wanted.includes(undefined)) return undefined;
    const have = key === "MACAddress" ? target.mac : target.permanentMac;
    return have !== undefined && wanted.includes(have);
  }
  if (!(key in GLOB_KEYS)) return undefined;
  const property = target[GLOB_KEYS[key as keyof typeof GLOB_KEYS]];
  const inverted = values[0]!.startsWith("!");
  const globs = inverted ? [values[0]!.slice(1), ...values.slice(1)].filter(Boolean) : values;
  if (property === undefined && (key === "Driver" || key === "Type")) return undefined;
  const hit = property !== undefined && globs.some((glob) => globRegex(glob).test(property));
  return inverted ? !hit : hit;
}

/** fnmatch(3) shell globs: `*`, `?`, `[…]`. */
export function globRegex(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".").replaceAll("[!", "[^");
  return new RegExp(`^${escaped}$`);
}

export function isGlob(text: string): boolean {
  return /[*?[!]/.test(text);
}
