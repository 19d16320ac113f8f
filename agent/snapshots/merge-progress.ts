import type { Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";
import { listLogicalVolumes } from "../lvm/logical-volumes.ts";

/** How often a running merge is looked at (lvconvert and lvpoll poll at --interval 5 themselves). */
export const MERGE_POLL_SECONDS = 5;
/** A merge copies the whole COW back: hours on a slow disk, never the runner's default 30 minutes. */
export const MERGE_TIMEOUT_SECONDS = 6 * 3600;

/** The LVM commands that wait for a merge: `lvconvert --merge` (foreground) and `lvpoll --polloperation merge`. */
export function isMergeWait(argv: readonly string[]): boolean {
  return argv[0] === "lvm" && ((argv[1] === "lvconvert" && argv.includes("--merge")) || (argv[1] === "lvpoll" && argv.includes("merge")));
}

/**
 * The runner, except that while a merge waits, lvs is read every few seconds and the console told
 * how far each merging snapshot is: its COW use (snap_percent) falls to 0 as the merge copies back.
 * The probes are read-only and only inform; a failing probe is ignored.
 */
export function withMergeProgress(run: Runner, log: Log, vg: string, pollMs = MERGE_POLL_SECONDS * 1000): Runner {
  return {
    get dryRun() {
      return run.dryRun;
    },
    run: (argv, options) => (isMergeWait(argv) && !run.dryRun ? watched(run.run(argv, options), run, log, vg, pollMs) : run.run(argv, options)),
    pipeInto: (argv, source, options) => run.pipeInto(argv, source, options),
    filter: (argv) => run.filter(argv),
    readSectors: (device, lba, count) => run.readSectors(device, lba, count),
    writeSectors: (device, lba, bytes, what) => run.writeSectors(device, lba, bytes, what),
  };
}

async function watched<T>(command: Promise<T>, run: Runner, log: Log, vg: string, pollMs: number): Promise<T> {
  const started = new Map<string, number>();
  const reported = new Map<string, number>();
  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      for (const lv of await listLogicalVolumes(run, vg)) {
        if (!lv.merging || lv.snapPercent === null) continue;
        const first = started.get(lv.name) ?? lv.snapPercent;
        started.set(lv.name, first);
        const done = first > 0 ? Math.floor(((first - lv.snapPercent) / first) * 100) : 100;
        const decile = Math.floor(done / 10);
        if ((reported.get(lv.name) ?? -1) >= decile) continue;
        reported.set(lv.name, decile);
        log.info(`merging ${vg}/${lv.name} into ${vg}/${lv.origin}: ${done}% (COW ${lv.snapPercent.toFixed(2)}% left of ${first.toFixed(2)}%)`, { merge: lv.name, done, snapPercent: lv.snapPercent });
      }
    } catch {
      // an lvs that fails while LVM reorganises the VG at the merge's end says nothing about the merge
    } finally {
      polling = false;
    }
  };
  const timer = setInterval(() => void poll(), pollMs);
  try {
    return await command;
  } finally {
    clearInterval(timer);
  }
}
