/**
 * Loaded before the unit test files (bunfig.toml). Their scratch files go to a directory of this
 * run's own, on tmpfs when the machine has one, removed when the run ends. The agent fsyncs and
 * renames every file it writes: on a disk busy with other work (QEMU guests) that alone took the
 * resume tests' migrations past bun's 5 s limit (one test file: 20 s on the busy disk, 1.5 s on
 * tmpfs). And no run finds, or leaves behind, another run's files.
 */
import { afterAll } from "bun:test";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RAM_DISK = "/dev/shm";

function scratchBase(): string {
  try {
    accessSync(RAM_DISK, constants.W_OK);
    return RAM_DISK;
  } catch {
    return tmpdir();
  }
}

const scratch = mkdtempSync(join(scratchBase(), "va-unit-"));
process.env.TMPDIR = scratch;
// In a preload file, afterAll runs once, after the last test of the run.
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
