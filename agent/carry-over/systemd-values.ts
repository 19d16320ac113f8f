import type { IniSection } from "./ini-file.ts";

/** systemd's parse_boolean(): case-insensitive. */
export function systemdBoolean(text: string | undefined): boolean | undefined {
  const value = text?.toLowerCase();
  if (value === undefined) return undefined;
  if (["1", "yes", "y", "true", "t", "on"].includes(value)) return true;
  if (["0", "no", "n", "false", "f", "off"].includes(value)) return false;
  return undefined;
}

const TIME_UNITS_MS: Record<string, number> = {
  us: 0.001, usec: 0.001, ms: 1, msec: 1, "": 1000, s: 1000, sec: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000, h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000,
};

/** A systemd time span (`100ms`, `1s 500ms`, a bare number is seconds) in milliseconds. */
export function timeSpanMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)\s*/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== text.trim()) return undefined;
  let total = 0;
  for (const [, amount, unit] of parts) {
    const factor = TIME_UNITS_MS[unit!];
    if (factor === undefined) return undefined;
    total += Number(amount) * factor;
  }
  return total;
}

/** `MTUBytes=`: bytes with the K, M, G suffixes to the base of 1024. */
export function byteSize(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^(\d+)\s*([KMG]?)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2] as "" | "K" | "M" | "G"];
}

/** A whitespace-separated list key that may repeat; an empty assignment resets what came before. */
export function listValues(sections: IniSection[], section: string, key: string): string[] {
  let values: string[] = [];
  for (const s of sections.filter((candidate) => candidate.name === section)) {
    for (const [k, v] of s.entries) if (k === key) values = v === "" ? [] : [...values, ...v.split(/\s+/)];
  }
  return values;
}

export function sectionValue(section: IniSection, key: string): string | undefined {
  return section.entries.filter(([k]) => k === key).at(-1)?.[1];
}
