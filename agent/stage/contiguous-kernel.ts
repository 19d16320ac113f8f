import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { parseFilefrag } from "../disk/file-extents.ts";
import { joinAdjacent } from "../disk/sector-ranges.ts";
import type { Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";

export const CONTIGUOUS_ATTEMPTS = 3;

/**
 * The staged tiny kernel must be one run of sectors: during window A, GRUB loads it by blocklist
 * and GRUB 2.12 misreads a blocklist of several ranges (docs/RESUME.md). A fragmented copy is
 * rewritten into space reserved in one piece (one fallocate call for the whole size), then renamed
 * over the original; up to `attempts` times. Returns the kernel's pieces in the end (undefined when
 * filefrag cannot tell); the caller decides what more than one means for the migration.
 */
export async function makeKernelContiguous(run: Runner, log: Log, path: string, attempts = CONTIGUOUS_ATTEMPTS): Promise<number | undefined> {
  const before = await pieces(run, path);
  if (before === undefined || before <= 1) return before;
  const size = statSync(path).size;
  // Failed copies stay allocated until the end, so the next reservation cannot get the same pieces.
  const held: string[] = [];
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const copy = `${path}.contiguous-${attempt}`;
      rmSync(copy, { force: true });
      held.push(copy);
      const reserved = await run.run(["fallocate", "--length", `${size}`, copy], { allowFailure: true });
      if (reserved.status !== 0) break;
      copyInto(path, copy, size);
      if ((await pieces(run, copy)) === 1) {
        renameSync(copy, path);
        held.pop();
        log.info(`staged tiny kernel rewritten in one piece (was ${before}, attempt ${attempt}), so GRUB can load it by sectors during the migration`);
        return 1;
      }
    }
  } finally {
    for (const copy of held) rmSync(copy, { force: true });
  }
  log.warn(`the staged tiny kernel stays in ${before} pieces: no single free run of ${size} bytes was found in ${held.length} attempt(s)`);
  return before;
}

function copyInto(source: string, destination: string, size: number): void {
  const fd = openSync(destination, "r+");
  try {
    writeSync(fd, readFileSync(source), 0, size, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Pieces of the file on its device (adjacent extents count as one); undefined when filefrag cannot tell. */
async function pieces(run: Runner, path: string): Promise<number | undefined> {
  const frag = await run.run(["filefrag", "-v", "-e", "-b512", path], { readOnly: true, allowFailure: true });
  if (frag.status !== 0) return undefined;
  try {
    return joinAdjacent(parseFilefrag(frag.stdout, statSync(path).size)).length;
  } catch {
    return undefined;
  }
}
