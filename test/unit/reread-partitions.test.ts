import { expect, test } from "bun:test";
import { rereadPartitionsWithFallback } from "../../agent/disk/reread-partitions.ts";
import { FakeRunner } from "./fake-runner.ts";

const blockdevCalls = (run: FakeRunner) => run.calls.filter((argv) => argv[0] === "blockdev").length;

/** Records the waits instead of waiting. */
function pauses(): { waited: number[]; pause: (ms: number) => Promise<void> } {
  const waited: number[] = [];
  return { waited, pause: async (ms) => void waited.push(ms) };
}

test("retries BLKRRPART while udev holds the disk, settling in between", async () => {
  let busy = 2;
  const run = new FakeRunner().respond((argv) => (argv[0] === "blockdev" && busy-- > 0 ? { status: 1, stderr: "BLKRRPART: Device or resource busy" } : undefined));
  const { waited, pause } = pauses();
  await rereadPartitionsWithFallback(run, "/dev/vda", pause);
  expect(waited).toEqual([200, 400]);
  expect(blockdevCalls(run)).toBe(3);
  expect(run.calls.some((argv) => argv[0] === "partx")).toBe(false);
  expect(run.calls.at(-1)).toEqual(["udevadm", "settle", "--timeout=60"]);
});

test("falls back to partx --update when the disk stays busy", async () => {
  const run = new FakeRunner().respond((argv) => (argv[0] === "blockdev" ? { status: 1, stderr: "busy" } : undefined));
  const { waited, pause } = pauses();
  await rereadPartitionsWithFallback(run, "/dev/nvme0n1", pause);
  expect(waited).toEqual([200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
  expect(blockdevCalls(run)).toBe(10);
  expect(run.calls).toContainEqual(["partx", "--update", "/dev/nvme0n1"]);
});
