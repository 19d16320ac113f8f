import { setTimeout as sleep } from "node:timers/promises";
import type { Runner } from "../runner/runner.ts";

const ATTEMPTS = 10;

/** Waits between attempts; tests pass their own so they neither wait nor depend on the clock. */
export type Pause = (ms: number) => Promise<unknown>;

/**
 * BLKRRPART fails with EBUSY while udev still has the disk open after sgdisk's writes (the
 * "watch" rule re-probes it). Settle and retry; as a last resort let partx update the kernel's
 * partitions one by one (BLKPG), which works on a busy disk.
 */
export async function rereadPartitions(run: Runner, disk: string, pause: Pause = sleep): Promise<void> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    await run.run(["udevadm", "settle", "--timeout=30"], { allowFailure: true });
    const result = await run.run(["blockdev", "--rereadpt", disk], { allowFailure: attempt < ATTEMPTS || undefined });
    if (result.status === 0) return;
    await pause(attempt * 200);
  }
}

export async function rereadPartitionsWithFallback(run: Runner, disk: string, pause: Pause = sleep): Promise<void> {
  try {
    await rereadPartitions(run, disk, pause);
  } catch {
    await run.run(["partx", "--update", disk]);
  }
  await run.run(["udevadm", "settle", "--timeout=60"]);
}
