import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArchiveError, ExitCode } from "../../agent/errors/errors.ts";
import { lintCompressedArchive } from "../../agent/payload/archive-lint.ts";
import { type ArchiveMember, ArchiveLinter } from "../../agent/payload/archive-linter.ts";
import { requiredTinyTools } from "../../agent/preflight/tiny-tools.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { ZxRunner } from "../../agent/runner/runner.ts";
import { writeRawTar } from "./bundle-fixture.ts";
import { FakeRunner } from "./fake-runner.ts";

/** The real xz of this host, through the Runner as in `stage`. */
const SYSTEM = new ZxRunner(silentLog());

const KERNEL: ArchiveMember[] = [
  { name: "boot/vmlinuz-6.12.0", type: "file", linkName: "", size: 1 },
  { name: "lib/modules/6.12.0/modules.dep", type: "file", linkName: "", size: 1 },
];

function lint(members: Partial<ArchiveMember>[]): ArchiveError | string[] {
  const linter = new ArchiveLinter("va.tar.xz");
  try {
    for (const m of [...members, ...KERNEL]) linter.add({ type: "file", linkName: "", size: 0, name: "", ...m } as ArchiveMember);
    return linter.finish().kernels;
  } catch (error) {
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as ArchiveError).exitCode).toBe(ExitCode.archive);
    return error as ArchiveError;
  }
}

const refusedWith = (members: Partial<ArchiveMember>[]) => (lint(members) as ArchiveError).message;

async function* chunksOf(buffer: Buffer): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < buffer.length; at += 64 * 1024) yield buffer.subarray(at, at + 64 * 1024);
}

function compress(tool: "xz" | "zstd", input: Buffer): Buffer {
  const result = Bun.spawnSync(tool === "xz" ? ["xz", "-c", "-0"] : ["zstd", "-q", "-c"], { stdin: input, stdout: "pipe" });
  return Buffer.from(result.stdout);
}

describe("archive lint rules (pure)", () => {
  test("in-root symlinks may be gone through: lib -> usr/lib, then lib/firmware/x", () => {
    expect(lint([{ name: "lib", type: "symlink", linkName: "usr/lib" }, { name: "lib/firmware/x" }])).toEqual(["6.12.0"]);
  });

  test("modules under usr/lib/modules count (merged /usr)", () => {
    const linter = new ArchiveLinter("a");
    linter.add({ name: "./boot/vmlinuz-6.1", type: "file", linkName: "", size: 1 });
    linter.add({ name: "./usr/lib/modules/6.1/", type: "directory", linkName: "", size: 0 });
    expect(linter.finish().kernels).toEqual(["6.1"]);
  });

  test("a symlink chain ending outside the root is refused at the member written through it", () => {
    const message = refusedWith([
      { name: "a", type: "symlink", linkName: "b/c" },
      { name: "b", type: "symlink", linkName: "/srv" },
      { name: "a/x" },
    ]);
    expect(message).toContain('member "a/x" is unsafe: its path goes through the symlink b -> /srv');
  });

  test("a symlink loop is refused", () => {
    expect(refusedWith([{ name: "a", type: "symlink", linkName: "b" }, { name: "b", type: "symlink", linkName: "a" }, { name: "a/x" }])).toContain("loops through symlinks");
  });

  test("a hard link through an escaping symlink is refused", () => {
    const message = refusedWith([{ name: "up", type: "symlink", linkName: "/" }, { name: "etc/pw", type: "hardlink", linkName: "up/etc/passwd" }]);
    expect(message).toContain('member "etc/pw" is unsafe: it is a hard link to up/etc/passwd');
  });

  test("a vmlinuz without modules is not a kernel, and says so", () => {
    const linter = new ArchiveLinter("va.tar.zst");
    linter.add({ name: "boot/vmlinuz-6.1", type: "file", linkName: "", size: 1 });
    expect(() => linter.finish()).toThrow("found boot/vmlinuz-6.1 but no matching modules directory");
  });
});

describe("archive lint over compressed streams", () => {
  test("GNU tar output (pax, long names, xattrs) through zstd in-process and xz -dc", async () => {
    const dir = mkdtempSync(join(tmpdir(), "va-lint-"));
    try {
      const root = join(dir, "root");
      const deep = join(root, "usr/share", "d".repeat(90), "e".repeat(90));
      mkdirSync(deep, { recursive: true });
      writeFileSync(join(deep, "f".repeat(120)), "x");
      mkdirSync(join(root, "boot"));
      writeFileSync(join(root, "boot/vmlinuz-6.12.0-va"), "k");
      mkdirSync(join(root, "usr/lib/modules/6.12.0-va"), { recursive: true });
      symlinkSync("usr/lib", join(root, "lib"));
      mkdirSync(join(root, "etc"));
      symlinkSync("/usr/share/zoneinfo/UTC", join(root, "etc/localtime"));
      const tar = Bun.spawnSync(["tar", "--format=posix", "--xattrs", "-C", root, "-cf", "-", "."], { stdout: "pipe" });
      const plain = Buffer.from(tar.stdout);
      for (const tool of ["zstd", "xz"] as const) {
        const result = await lintCompressedArchive(SYSTEM, chunksOf(compress(tool, plain)), tool, `va.tar.${tool}`);
        expect(result.kernels).toEqual(["6.12.0-va"]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a refusal early in a large archive stops the decompressor and still reads (hashes) all input", async () => {
    const dir = mkdtempSync(join(tmpdir(), "va-lint-"));
    try {
      const big = Buffer.alloc(32 * 1024 * 1024, 7);
      const tar = readFileSync(writeRawTar(join(dir, "t.tar"), [{ name: "/etc/passwd", body: Buffer.from("x") }, { name: "big", body: big }]));
      for (const tool of ["zstd", "xz"] as const) {
        const input = compress(tool, tar);
        let seen = 0;
        const error = await lintCompressedArchive(SYSTEM, chunksOf(input), tool, "va.tar", (chunk) => (seen += chunk.length)).catch((e) => e);
        expect(error).toBeInstanceOf(ArchiveError);
        expect(error.message).toContain('member "/etc/passwd" is unsafe: its name is absolute');
        expect(seen).toBe(input.length);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a stream that is not zstd / xz, or not tar inside, is an archive error", async () => {
    for (const tool of ["zstd", "xz"] as const) {
      const error = await lintCompressedArchive(SYSTEM, chunksOf(Buffer.alloc(4096, 0x41)), tool, "va.tar").catch((e) => e);
      expect(error).toBeInstanceOf(ArchiveError);
      expect(error.message).toContain("cannot be decompressed");
      const notTar = await lintCompressedArchive(SYSTEM, chunksOf(compress(tool, Buffer.alloc(4096, 0x41))), tool, "va.tar").catch((e) => e);
      expect(notTar).toBeInstanceOf(ArchiveError);
      expect(notTar.message).toContain("is not a readable tar archive: no valid tar header");
    }
  });
});

describe("tiny-system tools from the planned commands", () => {
  test("argv[0] of each command, the decompressor tar needs, no chroot tools or placeholders", () => {
    const tools = requiredTinyTools(
      [["sgdisk", "--zap-all", "/dev/vda"], ["tar", "--extract", "--zstd", "--file=-"], ["chroot", "/sysimage", "grub-install", "/dev/vda"], ["<grub tool>"]],
      ["mount"],
    );
    expect(tools).toEqual(["chroot", "mount", "sgdisk", "tar", "zstd"]);
  });
});

describe("issue 13 item 13: the payload check spawns xz only through the Runner", () => {
  const tar = () => {
    const dir = mkdtempSync(join(tmpdir(), "va-xz-"));
    const path = join(dir, "plain.tar");
    writeRawTar(path, [{ name: "boot/vmlinuz-6.1", body: Buffer.from("k") }, { name: "lib/modules/6.1/modules.dep", body: Buffer.from("m") }]);
    const bytes = readFileSync(path);
    rmSync(dir, { recursive: true, force: true });
    return bytes;
  };

  test("xz -dc is a Runner filter: recorded, and its output is what the check reads", async () => {
    const run = new FakeRunner(); // passes the input through: plain tar stands for the xz stream
    const result = await lintCompressedArchive(run, chunksOf(tar()), "xz", "va.tar.xz");
    expect(run.calls).toEqual([["xz", "-dc"]]);
    expect(result.kernels).toEqual(["6.1"]);
  });

  test("no xz on the old system: a typed tool-missing error (exit 8), the whole payload still read for its digest", async () => {
    const run = new FakeRunner().respond((argv) => (argv[0] === "xz" ? { status: 127, stderr: "xz: not found" } : undefined));
    const input = tar();
    let seen = 0;
    const error = await lintCompressedArchive(run, chunksOf(input), "xz", "va.tar.xz", (chunk) => (seen += chunk.length)).catch((e) => e);
    expect(error.exitCode).toBe(ExitCode.toolMissing);
    expect(error.message).toContain("this system has no xz");
    expect(error.hint).toContain("zstd payload");
    expect(seen).toBe(input.length);
  });

  test("the payload's files spawn nothing themselves: xz runs through the runner", () => {
    const dir = join(import.meta.dir, "../../agent/payload");
    for (const file of readdirSync(dir)) expect(readFileSync(join(dir, file), "utf8")).not.toContain("node:child_process");
  });
});
