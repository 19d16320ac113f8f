import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLog } from "../../agent/log/logger.ts";
import { makeKernelContiguous } from "../../agent/stage/contiguous-kernel.ts";
import { FakeRunner } from "./fake-runner.ts";

const TWO = "   0:        0..       3:     1000..     1003:      4:\n   1:        4..       7:     5000..     5003:      4:             last,eof\n";
const ONE = "   0:        0..       7:     9000..     9007:      8:             last,eof\n";

function staged(answers: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "va-contig-"));
  const kernel = join(dir, "vmlinuz");
  writeFileSync(kernel, Buffer.alloc(4096, 0x4b));
  const run = new FakeRunner()
    .respond((argv) => (argv[0] === "filefrag" ? { stdout: answers.shift() ?? ONE } : undefined))
    .respond((argv) => (argv[0] === "fallocate" ? (writeFileSync(argv.at(-1)!, Buffer.alloc(Number(argv[2]))), {}) : undefined));
  return { run, kernel };
}

describe("the staged tiny kernel in one piece", () => {
  test("a fragmented kernel is copied into a one-piece reservation and renamed over the original", async () => {
    const { run, kernel } = staged([TWO, ONE]);
    await makeKernelContiguous(run, silentLog(), kernel);
    expect(run.calls.map((argv) => argv[0])).toEqual(["filefrag", "fallocate", "filefrag"]);
    expect(readFileSync(kernel)).toEqual(Buffer.alloc(4096, 0x4b));
    expect(existsSync(`${kernel}.contiguous`)).toBe(false);
  });

  test("already one piece: nothing is written; no one-piece space: the original stays", async () => {
    const one = staged([ONE]);
    await makeKernelContiguous(one.run, silentLog(), one.kernel);
    expect(one.run.calls.map((argv) => argv[0])).toEqual(["filefrag"]);
    const stuck = staged([TWO, TWO]);
    await makeKernelContiguous(stuck.run, silentLog(), stuck.kernel);
    expect(readFileSync(stuck.kernel)).toEqual(Buffer.alloc(4096, 0x4b));
    expect(existsSync(`${stuck.kernel}.contiguous`)).toBe(false);
  });
});
