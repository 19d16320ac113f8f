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

export const UNSAFE_WINDOWS: Window[] = [
  {
    name: "A",
    steps: ["wipe-old-system", "partition-disk", "create-volumes", "make-filesystems", "persist-for-resume", "arm-resume-boot"],
    why: "the old partition table and VG are gone; the resume kit is not on the new disk until arm-resume-boot's boot sector write",
  },
  {
    name: "B (upper bound)",
    steps: ["install-bootloader"],
    why: "grub-install writes core.img, then the boot sector; between the two writes the old boot sector loads a new core.img",
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
