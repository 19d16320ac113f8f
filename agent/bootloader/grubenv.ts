import { existsSync, readFileSync } from "node:fs";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";

/**
 * GRUB's environment block: a fixed-size file ("# GRUB Environment Block" + name=value lines,
 * padded with '#'). GRUB writes it in place, so its size must never change.
 */
const HEADER = "# GRUB Environment Block\n";

export function parseGrubenv(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.includes("=")) continue;
    vars.set(line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1));
  }
  return vars;
}

export function renderGrubenv(vars: Map<string, string>, size: number): string {
  const body = `${HEADER}${[...vars].map(([name, value]) => `${name}=${value}\n`).join("")}`;
  if (body.length > size) throw new Error(`GRUB environment does not fit in ${size} bytes`);
  return body.padEnd(size, "#");
}

/** Removes the one-time entry GRUB would boot next, keeping the block's size. */
export function withoutNextEntry(text: string): string {
  const vars = parseGrubenv(text);
  vars.delete("next_entry");
  return renderGrubenv(vars, text.length);
}

/** The entry a grubenv file arms for the next boot only, if the file exists and arms one. */
export function nextEntryIn(grubenv: string): string | undefined {
  return existsSync(grubenv) ? parseGrubenv(readFileSync(grubenv, "latin1")).get("next_entry") : undefined;
}

/** Disarms a one-time entry in place (GRUB clears it itself only where it can write, not on xfs). */
export function clearNextEntry(grubenv: string): void {
  if (existsSync(grubenv)) writeFileAtomically(grubenv, Buffer.from(withoutNextEntry(readFileSync(grubenv, "latin1")), "latin1"), modeAndOwnerOf(grubenv, 0o644));
}
