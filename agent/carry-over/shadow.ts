import { readFileSync } from "node:fs";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";

/** Replaces only the password hash field of the listed accounts; every other line and field stays. */
export function mergePasswordHashes(shadow: string, hashes: Map<string, string>): { text: string; missing: string[] } {
  const seen = new Set<string>();
  const lines = shadow.split("\n").map((line) => {
    const fields = line.split(":");
    const hash = hashes.get(fields[0]!);
    if (hash === undefined || fields.length < 2) return line;
    seen.add(fields[0]!);
    fields[1] = hash;
    return fields.join(":");
  });
  return { text: lines.join("\n"), missing: [...hashes.keys()].filter((name) => !seen.has(name)) };
}

/**
 * Replaces the new root's shadow file as a whole, with the mode (0640 on Debian, 0000/0600 on EL)
 * and owner found: a power cut leaves the shipped file, so a re-run merges into a whole one.
 */
export function mergeShadowFile(path: string, hashes: Map<string, string>): { missing: string[] } {
  const keep = modeAndOwnerOf(path, 0o600);
  const merged = mergePasswordHashes(readFileSync(path, "utf8"), hashes);
  writeFileAtomically(path, merged.text, keep);
  return { missing: merged.missing };
}
