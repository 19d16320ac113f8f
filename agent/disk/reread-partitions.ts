import { command, type CommandEntry } from "../steps/entry.ts";

/**
 * BLKRRPART fails with EBUSY while udev still has the disk open after sgdisk's writes (the
 * "watch" rule re-probes it). Settle and retry; as a last resort let partx update the kernel's
 * partitions one by one (BLKPG), which works on a busy disk.
 */
export function rereadPartitionsEntries(disk: string): CommandEntry[] {
  return [
    command(["blockdev", "--rereadpt", disk], {
      retry: {
        attempts: 10,
        before: [command(["udevadm", "settle", "--timeout=30"], { options: { allowFailure: true } })],
        pauseMs: 200,
        otherwise: [command(["partx", "--update", disk])],
      },
    }),
    command(["udevadm", "settle", "--timeout=60"]),
  ];
}
