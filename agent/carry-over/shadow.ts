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
