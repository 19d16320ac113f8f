import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { parseFilefrag } from "../disk/file-extents.ts";
import { joinAdjacent } from "../disk/sector-ranges.ts";
import type { Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";

/**
 * The staged tiny kernel must be one run of sectors: during window A, GRUB loads it by blocklist
 * and GRUB 2.12 misreads a blocklist of several ranges (docs/RESUME.md). A fragmented copy is
 * rewritten into space reserved in one piece (fallocate), then renamed over the original. If the
 * filesystem has no such space, window A stays open for this migration and the plan says so.
 */
export async function makeKernelContiguous(run: Runner, log: Log, path: string): Promise<void> {
  const before = await pieces(run, path);
  if (before === undefined || before <= 1) return;
  const copy = `${path}.contiguous`;
  rmSync(copy, { force: true });
  const size = statSync(path).size;
  const reserved = await run.run(["fallocate", "--length", `${size}`, copy], { allowFailure: true });
  if (reserved.status === 0) {
    const fd = openSync(copy, "r+");
    try {
      writeSync(fd, readFileSync(path), 0, size, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const after = await pieces(run, copy);
    if (after === 1) {
      renameSync(copy, path);
      log.info(`staged tiny kernel rewritten in one piece (was ${before}), so GRUB can load it by sectors during the migration`);
      return;
    }
  }
  rmSync(copy, { force: true });
  log.warn(`the staged tiny kernel is in ${before} pieces and no single free run of ${size} bytes was found: a power cut early in the migration will need manual recovery`);
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
