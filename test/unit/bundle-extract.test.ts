import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { extractBundle } from "../../agent/bundle/extract.ts";
import { BundleError, ExitCode, VaError } from "../../agent/errors/errors.ts";
import { makeWorkspace, memberEntries, signedHead, writeRawTar, type RawEntry, removeWorkspaces } from "./bundle-fixture.ts";

async function refusedBeforeWriting(evil: RawEntry, position: "first" | "last"): Promise<BundleError> {
  const ws = makeWorkspace();
  const head = await signedHead(ws);
  const members = memberEntries(ws);
  const entries = position === "first" ? [...head.entries, evil, ...members] : [...head.entries, ...members, evil];
  const bundle = writeRawTar(join(ws.dir, "evil.tar"), entries);
  const dest = join(ws.dir, "stage", "upd");
  let refusal: unknown;
  await extractBundle(bundle, dest, { keyring: ws.keyring }).catch((error) => (refusal = error));
  expect(refusal).toBeInstanceOf(BundleError);
  expect((refusal as VaError).exitCode).toBe(ExitCode.bundle);
  expect(readdirSync(dest)).toEqual([]);
  expect(readdirSync(dirname(dest))).toEqual(["upd"]);
  return refusal as BundleError;
}

afterAll(removeWorkspaces);

describe("extract refuses unsafe members before anything is staged", () => {
  for (const position of ["first", "last"] as const) {
    test(`a member named ../x (${position})`, async () => {
      const error = await refusedBeforeWriting({ name: "../x", body: Buffer.from("escape") }, position);
      expect(error.message).toContain('member "../x" is unsafe: its name is not a plain file name');
    });

    test(`a member named /etc/passwd (${position})`, async () => {
      const error = await refusedBeforeWriting({ name: "/etc/passwd", body: Buffer.from("root::0:0::/:/bin/sh\n") }, position);
      expect(error.message).toContain('member "/etc/passwd" is unsafe');
      expect(existsSync("/etc/passwd")).toBe(true);
    });

    test(`a symlink member (${position})`, async () => {
      const error = await refusedBeforeWriting({ name: "va.tar.xz", type: "symlink", linkName: "/etc/shadow" }, position);
      expect(error.message).toContain('member "va.tar.xz" is unsafe: symlink member -> /etc/shadow, only regular files are allowed');
    });
  }

  // One refusal per test: each builds and signs a bundle of its own, seconds of work on a busy machine.
  const refusals: [string, RawEntry, "first" | "last", string][] = [
    ["a hard link", { name: "vmlinuz", type: "hardlink", linkName: "va.tar.xz" }, "first", "hardlink member"],
    ["a block device", { name: "sda", type: "block-device" }, "first", "block-device member"],
    ["a directory", { name: "dir", type: "directory" }, "first", "directory member"],
    ["a member the signed manifest does not list", { name: "extra.sh", body: Buffer.from("#!/bin/sh\n") }, "first", "not listed in the manifest"],
    ["a duplicate member", { name: "va.sgdisk", body: Buffer.from("x") }, "last", "appears twice"],
    ["a second manifest.json (reserved)", { name: "manifest.json", body: Buffer.from("{}") }, "last", "reserved member"],
  ];
  for (const [what, evil, position, says] of refusals) {
    test(what, async () => {
      expect((await refusedBeforeWriting(evil, position)).message).toContain(says);
    });
  }
});
