import { afterAll, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCpio, writeCpio, type CpioEntry } from "../../build/cpio.ts";

const tmp = mkdtempSync(join(tmpdir(), "va-cpio-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const enc = new TextEncoder();
const entries: CpioEntry[] = [
  { type: "symlink", path: "usr/lib/va/link", target: "../../bin/tool" },
  { type: "file", path: "usr/bin/tool", mode: 0o750, data: enc.encode("#!/bin/sh\necho odd-length\n") },
  { type: "dir", path: "usr", mode: 0o755 },
  { type: "dir", path: "usr/bin", mode: 0o711 },
  { type: "dir", path: "usr/lib", mode: 0o755 },
  { type: "dir", path: "usr/lib/va", mode: 0o755 },
  { type: "file", path: "etc/empty", mode: 0o600, data: new Uint8Array(0) },
  { type: "dir", path: "etc", mode: 0o755 },
];

function cpio(args: string[], input: Uint8Array, cwd: string): string {
  const p = Bun.spawnSync(["cpio", ...args], { stdin: input, cwd, stdout: "pipe", stderr: "pipe" });
  expect(p.exitCode).toBe(0);
  return p.stdout.toString();
}

test("host cpio lists every entry, sorted", () => {
  const archive = writeCpio(entries);
  const listed = cpio(["-t", "--quiet"], archive, tmp).trim().split("\n");
  expect(listed).toEqual(entries.map((e) => e.path).sort());
});

test("content, modes and link targets round-trip through cpio -i", () => {
  const out = join(tmp, "extract");
  mkdirSync(out);
  cpio(["-idm", "--quiet", "--no-absolute-filenames"], writeCpio(entries), out);
  expect(readFileSync(join(out, "usr/bin/tool"), "utf8")).toBe("#!/bin/sh\necho odd-length\n");
  expect(lstatSync(join(out, "usr/bin/tool")).mode & 0o7777).toBe(0o750);
  expect(lstatSync(join(out, "etc/empty")).size).toBe(0);
  expect(lstatSync(join(out, "etc/empty")).mode & 0o7777).toBe(0o600);
  expect(lstatSync(join(out, "usr/bin")).isDirectory()).toBe(true);
  expect(lstatSync(join(out, "usr/bin")).mode & 0o7777).toBe(0o711);
  expect(lstatSync(join(out, "usr/lib/va/link")).isSymbolicLink()).toBe(true);
  expect(readlinkSync(join(out, "usr/lib/va/link"))).toBe("../../bin/tool");
  expect(readFileSync(join(out, "usr/lib/va/link"), "utf8")).toContain("odd-length");
});

test("entries start 4-byte aligned, the trailer ends the archive, output is deterministic", () => {
  const archive = writeCpio(entries);
  const { entries: read, end } = readCpio(archive);
  expect(read.length).toBe(entries.length);
  for (const e of read) expect(e.offset % 4).toBe(0);
  expect(end).toBe(archive.length);
  expect(archive.length % 4).toBe(0);
  const text = new TextDecoder().decode(archive);
  expect(text.lastIndexOf("TRAILER!!!")).toBeGreaterThan(text.lastIndexOf("usr/lib/va/link"));
  // mtime (field 6) and uid/gid are 0 in every header
  for (const e of read) {
    const h = text.slice(e.offset, e.offset + 110);
    expect(h.slice(22, 38)).toBe("0".repeat(16));
    expect(h.slice(46, 54)).toBe("0".repeat(8));
  }
  expect(writeCpio([...entries].reverse())).toEqual(archive);
});

test("duplicate and unsafe paths are rejected", () => {
  expect(() => writeCpio([entries[2]!, entries[2]!])).toThrow(/duplicate/);
  expect(() => writeCpio([{ type: "dir", path: "../x", mode: 0o755 }])).toThrow(/bad entry path/);
});
