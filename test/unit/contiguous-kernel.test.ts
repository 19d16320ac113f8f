import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { silentLog } from "../../agent/log/logger.ts";
import { openWindowCheck } from "../../agent/preflight/staged-kernel-check.ts";
import { CONTIGUOUS_ATTEMPTS, makeKernelContiguous } from "../../agent/stage/contiguous-kernel.ts";
import { FakeRunner } from "./fake-runner.ts";

// The extents source (agent/disk/file-extents.ts reads `filefrag -v -e -b512`), faked per call.
const TWO = "   0:        0..       3:     1000..     1003:      4:\n   1:        4..       7:     5000..     5003:      4:             last,eof\n";
const ONE = "   0:        0..       7:     9000..     9007:      8:             last,eof\n";

function staged(answers: string[], options: { fallocateFailsFrom?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "va-contig-"));
  const kernel = join(dir, "vmlinuz");
  writeFileSync(kernel, Buffer.alloc(4096, 0x4b));
  let fallocates = 0;
  const run = new FakeRunner()
    .respond((argv) => (argv[0] === "filefrag" ? { stdout: answers.shift() ?? ONE } : undefined))
    .respond((argv) => {
      if (argv[0] !== "fallocate") return undefined;
      if (++fallocates >= (options.fallocateFailsFrom ?? Infinity)) return { status: 1, stderr: "fallocate: No space left on device" };
      writeFileSync(argv.at(-1)!, Buffer.alloc(Number(argv[2])));
      return {};
    });
  return { run, kernel, dir };
}

describe("the staged tiny kernel in one piece", () => {
  test("a fragmented kernel is copied into a one-piece reservation and renamed over the original", async () => {
    const { run, kernel, dir } = staged([TWO, ONE]);
    expect(await makeKernelContiguous(run, silentLog(), kernel)).toBe(1);
    expect(run.calls.map((argv) => argv[0])).toEqual(["filefrag", "fallocate", "filefrag"]);
    expect(readFileSync(kernel)).toEqual(Buffer.alloc(4096, 0x4b));
    expect(readdirSync(dir)).toEqual(["vmlinuz"]);
  });

  test("already one piece: nothing is written", async () => {
    const one = staged([ONE]);
    expect(await makeKernelContiguous(one.run, silentLog(), one.kernel)).toBe(1);
    expect(one.run.calls.map((argv) => argv[0])).toEqual(["filefrag"]);
  });
});

describe("issue 13 item 14: window A stays open when the staged tiny kernel ends up in two pieces on disk", () => {
  test("the rewrite is retried, each time with the full size reserved in one fallocate call, earlier failed copies held meanwhile", async () => {
    const { run, kernel, dir } = staged([TWO, TWO, TWO, ONE]);
    const copiesDuringThirdAttempt: string[] = [];
    run.respond((argv) => (argv[0] === "fallocate" && argv.at(-1)!.endsWith("-3") ? (copiesDuringThirdAttempt.push(...readdirSync(dirname(kernel))), undefined) : undefined));
    expect(await makeKernelContiguous(run, silentLog(), kernel)).toBe(1);
    const fallocates = run.calls.filter((argv) => argv[0] === "fallocate");
    expect(fallocates).toHaveLength(3);
    for (const argv of fallocates) expect(argv.slice(0, 3)).toEqual(["fallocate", "--length", "4096"]);
    // the two fragmented copies were still allocated when the third reservation was asked for
    expect(copiesDuringThirdAttempt).toEqual(expect.arrayContaining(["vmlinuz.contiguous-1", "vmlinuz.contiguous-2"]));
    expect(readFileSync(kernel)).toEqual(Buffer.alloc(4096, 0x4b));
    expect(readdirSync(dir)).toEqual(["vmlinuz"]);
  });

  test(`still in pieces after ${CONTIGUOUS_ATTEMPTS} attempts: the piece count is returned, the original kept, no copy left behind`, async () => {
    const { run, kernel, dir } = staged(Array(CONTIGUOUS_ATTEMPTS + 1).fill(TWO));
    expect(await makeKernelContiguous(run, silentLog(), kernel)).toBe(2);
    expect(run.calls.filter((argv) => argv[0] === "fallocate")).toHaveLength(CONTIGUOUS_ATTEMPTS);
    expect(readFileSync(kernel)).toEqual(Buffer.alloc(4096, 0x4b));
    expect(readdirSync(dir)).toEqual(["vmlinuz"]);
  });

  test("no room for another reservation: the attempts stop there", async () => {
    const { run, kernel, dir } = staged([TWO, TWO], { fallocateFailsFrom: 2 });
    expect(await makeKernelContiguous(run, silentLog(), kernel)).toBe(2);
    expect(run.calls.filter((argv) => argv[0] === "fallocate")).toHaveLength(2);
    expect(existsSync(kernel)).toBe(true);
    expect(readdirSync(dir)).toEqual(["vmlinuz"]);
  });

  test("the finding says plainly that the box has an unsafe window and how long; an inhibitor unless accepted", () => {
    const refused = openWindowCheck(2, false);
    expect(refused.severity).toBe("inhibitor");
    expect(refused.id).toBe("staged-kernel");
    expect(refused.finding).toContain("2 pieces");
    expect(refused.finding).toMatch(/unsafe window of about \d+ s/);
    expect(refused.finding).toContain("no bootable path");
    expect(refused.remedy).toContain("--accept-open-window");
    const accepted = openWindowCheck(2, true);
    expect(accepted.severity).toBe("warning");
    expect(accepted.finding).toBe(refused.finding);
  });
});
