import { afterAll, beforeAll, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeCpio } from "../../build/cpio.ts";
import { readElfDepsFile } from "../../build/elf.ts";
import { AGENT_PATH, buildInitramfsImage, compressZstd, UNIT_PATH, type InitramfsSummary } from "../../build/overlay.ts";
import { TOOLS } from "../../build/tools.ts";
import { generateSigningKeys } from "../../build/keygen.ts";
import { loadKeyring } from "../../agent/bundle/keyring.ts";

const REPO = join(import.meta.dir, "../..");
const tmp = mkdtempSync(join(tmpdir(), "va-overlay-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const enc = new TextEncoder();
const STOCK_UNIT = "[Service]\nExecStart=-/bin/dracut-emergency\n";
let summary: InitramfsSummary;
let image: Uint8Array;
let stock: Uint8Array;
let listed: string[];
const extracted = join(tmp, "extracted");

function sh(argv: string[], stdin?: Uint8Array, cwd?: string): string {
  const p = Bun.spawnSync(argv, { stdin, cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

beforeAll(() => {
  // A small stand-in for dracut's image: usr-merge symlinks, the stock unit, and a usr/lib64 symlink
  // (the overlay must not replace a stock symlink with a directory).
  for (let filler = 1; ; filler++) {
    const cpio = writeCpio([
      { type: "symlink", path: "bin", target: "usr/bin" },
      { type: "symlink", path: "sbin", target: "usr/sbin" },
      { type: "symlink", path: "lib", target: "usr/lib" },
      { type: "symlink", path: "lib64", target: "usr/lib64" },
      { type: "dir", path: "usr", mode: 0o755 },
      { type: "dir", path: "usr/lib", mode: 0o755 },
      { type: "symlink", path: "usr/lib64", target: "lib/x86_64-linux-gnu" },
      { type: "file", path: UNIT_PATH, mode: 0o644, data: enc.encode(STOCK_UNIT) },
      { type: "file", path: "filler", mode: 0o644, data: enc.encode("x".repeat(filler)) },
    ]);
    stock = compressZstd(cpio, 3);
    if (stock.length % 512 !== 0) break;
  }
  writeFileSync(join(tmp, "stock.img"), stock);
  writeFileSync(join(tmp, "agent"), "#!/bin/sh\necho dummy agent\n");

  generateSigningKeys(join(tmp, "vendor-keys"));
  summary = buildInitramfsImage({
    sysroot: "/", // the build host as sysroot: it has these tools
    keyring: join(tmp, "vendor-keys"),
    agent: join(tmp, "agent"),
    unit: join(REPO, "units/dracut-emergency.service"),
    overlayDir: join(REPO, "initramfs-overlay"),
    tools: TOOLS.filter((t) => ["bash", "tar", "mke2fs", "mkfs.ext4"].includes(t.name)),
    stock: join(tmp, "stock.img"),
    out: join(tmp, "out.img"),
    zstdLevel: 3,
  });
  image = new Uint8Array(readFileSync(join(tmp, "out.img")));
  const unzstd = Bun.spawnSync(["zstd", "-dc"], { stdin: image.subarray(summary.overlayOffset), stdout: "pipe" });
  expect(unzstd.exitCode).toBe(0);
  const overlayCpio = new Uint8Array(unzstd.stdout);
  listed = sh(["cpio", "-t", "--quiet"], overlayCpio).trim().split("\n");
  mkdirSync(extracted);
  sh(["cpio", "-idm", "--quiet", "--no-absolute-filenames"], overlayCpio, extracted);
});

test("the stock image is kept byte for byte and padded with NULs to 512", () => {
  expect(image.subarray(0, stock.length)).toEqual(stock);
  expect(summary.overlayOffset % 512).toBe(0);
  expect(summary.overlayOffset).toBe(Math.ceil(stock.length / 512) * 512);
  expect(image.subarray(stock.length, summary.overlayOffset).every((b) => b === 0)).toBe(true);
  expect([...image.subarray(summary.overlayOffset, summary.overlayOffset + 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
  // dracut's lsinitrd still reads the stock part
  expect(sh(["lsinitrd", join(tmp, "out.img")])).toContain("dracut-emergency.service");
});

test("the overlay carries the agent, the replaced unit and initramfs-overlay/", () => {
  expect(listed).toContain(AGENT_PATH);
  expect(listed).toContain(UNIT_PATH);
  expect(listed).toContain("usr/lib/va-agent/start");
  expect(listed).toContain("etc/va-agent/tiny-system");
  expect(readFileSync(join(extracted, UNIT_PATH), "utf8")).toBe(readFileSync(join(REPO, "units/dracut-emergency.service"), "utf8"));
  expect(lstatSync(join(extracted, AGENT_PATH)).mode & 0o777).toBe(0o755);
  expect(lstatSync(join(extracted, "usr/lib/va-agent/start")).mode & 0o777).toBe(0o755);
});

test("issue 13 item 9: the overlay ships the vendor keyring where the tiny system's agent looks for it", () => {
  expect(listed).toContain("etc/va-agent/keys/va-signing.pub");
  expect(listed.filter((p) => p.startsWith("etc/va-agent/keys/"))).toEqual(["etc/va-agent/keys/va-signing.pub"]);
  expect(readFileSync(join(extracted, "etc/va-agent/keys/va-signing.pub"))).toEqual(readFileSync(join(tmp, "vendor-keys/va-signing.pub")));
  // the private key next to it in the keygen directory stays out
  expect(listed.some((p) => p.endsWith(".key"))).toBe(false);
  expect(loadKeyring(join(extracted, "etc/va-agent/keys")).keys).toHaveLength(1);
});

test("tools come with their libraries, all under usr/", () => {
  expect(listed).toContain("usr/bin/bash");
  for (const lib of readElfDepsFile("/bin/bash").needed) expect(listed).toContain(`usr/lib/x86_64-linux-gnu/${lib}`);
  expect(listed).toContain("usr/lib64/ld-linux-x86-64.so.2");
  expect(listed).toContain("usr/sbin/mke2fs");
  expect(listed).toContain("etc/mke2fs.conf");
  expect(lstatSync(join(extracted, "usr/sbin/mkfs.ext4")).isSymbolicLink()).toBe(true);
  // never a top-level bin/sbin/lib/lib64 entry, and no directory where the stock image has a symlink
  for (const p of ["bin", "sbin", "lib", "lib64", "usr/lib64"]) expect(listed).not.toContain(p);
  expect(listed.filter((p) => /^(bin|sbin|lib|lib64)\//.test(p))).toEqual([]);
});
