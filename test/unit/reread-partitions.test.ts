import { expect, test } from "bun:test";
import { rereadPartitionsEntries } from "../../agent/disk/reread-partitions.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { perform } from "../../agent/steps/perform.ts";
import type { StepContext } from "../../agent/steps/step.ts";
import { FakeRunner } from "./fake-runner.ts";

const waits: number[] = [];
const recordWait = async (ms: number) => waits.push(ms);
const rereadPartitionsWithFallback = (run: FakeRunner, disk: string) => perform({ run, log: silentLog(), pause: recordWait } as unknown as StepContext, rereadPartitionsEntries(disk));

const blockdevCalls = (run: FakeRunner) => run.calls.filter((argv) => argv[0] === "blockdev").length;

test("retries BLKRRPART while udev holds the disk, settling in between", async () => {
  let busy = 2;
  const run = new FakeRunner().respond((argv) => (argv[0] === "blockdev" && busy-- > 0 ? { status: 1, stderr: "BLKRRPART: Device or resource busy" } : undefined));
  await rereadPartitionsWithFallback(run, "/dev/vda");
  expect(blockdevCalls(run)).toBe(3);
  expect(run.calls.some((argv) => argv[0] === "partx")).toBe(false);
  expect(run.calls.at(-1)).toEqual(["udevadm", "settle", "--timeout=60"]);
});

test("falls back to partx --update when the disk stays busy", async () => {
  const run = new FakeRunner().respond((argv) => (argv[0] === "blockdev" ? { status: 1, stderr: "busy" } : undefined));
  await rereadPartitionsWithFallback(run, "/dev/nvme0n1");
  expect(blockdevCalls(run)).toBe(10);
  expect(run.calls).toContainEqual(["partx", "--update", "/dev/nvme0n1"]);
  expect(waits.slice(-9)).toEqual([200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
});
