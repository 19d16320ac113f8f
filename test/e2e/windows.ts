// The unsafe windows of docs/RESUME.md, measured from a tiny system's console: every step prints
// "<step>: done in N s", so a window is the sum of the steps it spans (the journal saves between
// them take milliseconds).
//
//   bun test/e2e/windows.ts SERIAL_LOG...

import { readFileSync } from "node:fs";

export interface Window {
  name: string;
  /** Steps the window spans, all of them. */
  steps: string[];
  why: string;
}

/**
 * Windows A (wipe → resume entry) and B (the new system's core.img under the resume boot sector)
 * are closed: every switch of what boots is one boot-sector write (docs/RESUME.md). What remains:
 */
export const UNSAFE_WINDOWS: Window[] = [
  {
    name: "C (upper bound)",
    steps: ["fix-filesystem-uuids"],
    why: "tune2fs -U rewrites /boot's metadata checksums; GRUB still boots the resume entry, but a resumed e2fsck -p may stop at mixed checksums",
  },
];

export interface WindowMeasure {
  window: string;
  seconds: number;
  parts: { step: string; seconds: number }[];
}

/** Each window whose steps all completed in this log (the last completion of each step counts). */
export function measureWindows(serial: string): WindowMeasure[] {
  const done = new Map<string, number>();
  for (const match of serial.matchAll(/\] ([a-z-]+): done in ([\d.]+) s/g)) done.set(match[1]!, Number(match[2]));
  return UNSAFE_WINDOWS.filter((w) => w.steps.every((step) => done.has(step))).map((w) => {
    const parts = w.steps.map((step) => ({ step, seconds: done.get(step)! }));
    return { window: w.name, seconds: Number(parts.reduce((sum, p) => sum + p.seconds, 0).toFixed(1)), parts };
  });
}

export function describe(measure: WindowMeasure): string {
  return `window ${measure.window}: ${measure.seconds} s (${measure.parts.map((p) => `${p.step} ${p.seconds}`).join(" + ")})`;
}

if (import.meta.main) {
  for (const path of process.argv.slice(2)) {
    for (const measure of measureWindows(readFileSync(path, "latin1"))) console.log(`${path}: ${describe(measure)}`);
  }
}
