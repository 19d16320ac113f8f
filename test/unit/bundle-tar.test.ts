import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeHeader, encodeHeader } from "../../agent/bundle/tar-header.ts";
import { readTar } from "../../agent/bundle/tar-reader.ts";

async function listWithBodies(path: string): Promise<{ name: string; type: string; size: number; linkName: string; body: string }[]> {
  const listing = [];
  for await (const member of readTar(path)) {
    const chunks: Buffer[] = [];
    for await (const chunk of member.body()) chunks.push(Buffer.from(chunk));
    listing.push({ name: member.name, type: member.type, size: member.size, linkName: member.linkName, body: Buffer.concat(chunks).toString() });
  }
  return listing;
}

const scratch = mkdtempSync(join(tmpdir(), "va-tar-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function tarOf(format: "gnu" | "pax" | "ustar"): string {
  const dir = join(scratch, format);
  const longName = `${"d".repeat(60)}/${"f".repeat(80)}.txt`;
  mkdirSync(join(dir, "src", "d".repeat(60)), { recursive: true });
  writeFileSync(join(dir, "src", longName), "long\n");
  writeFileSync(join(dir, "src", "short.txt"), "short\n");
  symlinkSync("short.txt", join(dir, "src", "link"));
  const out = join(dir, `${format}.tar`);
  const tar = Bun.spawnSync(["tar", `--format=${format}`, "-cf", out, "-C", join(dir, "src"), "short.txt", "link", longName], { stderr: "pipe" });
  if (tar.exitCode !== 0) throw new Error(tar.stderr.toString());
  return out;
}

describe("the tar reader reads what GNU tar writes", () => {
  for (const format of ["gnu", "pax", "ustar"] as const) {
    test(`--format=${format}: long names, symlinks, bodies`, async () => {
      const listing = await listWithBodies(tarOf(format));
      expect(listing.map((m) => [m.name, m.type, m.size, m.linkName, m.body])).toEqual([
        ["short.txt", "file", 6, "", "short\n"],
        ["link", "symlink", 0, "short.txt", ""],
        [`${"d".repeat(60)}/${"f".repeat(80)}.txt`, "file", 5, "", "long\n"],
      ]);
    });
  }

  test("sizes of 8 GiB and more use GNU base-256 and read back", () => {
    const size = 9 * 1024 ** 3 + 5;
    const header = decodeHeader(encodeHeader({ name: "big", size, mode: 0o644, type: "file", linkName: "" }));
    expect(header).toMatchObject({ name: "big", size, mode: 0o644, type: "file", linkName: "", dataBytes: size });
  });
});
