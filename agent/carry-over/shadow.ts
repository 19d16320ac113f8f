import { chmodSync, chownSync, readFileSync, statSync, writeFileSync } from "node:fs";

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

/** Rewrites the new root's shadow file in place: its mode (0640 on Debian, 0000/0600 on EL) and owner stay as found. */
export function mergeShadowFile(path: string, hashes: Map<string, string>): { missing: string[] } {
  const before = statSync(path);
  const merged = mergePasswordHashes(readFileSync(path, "utf8"), hashes);
  writeFileSync(path, merged.text);
  chmodSync(path, before.mode & 0o7777);
  chownSync(path, before.uid, before.gid);
  return { missing: merged.missing };
}
