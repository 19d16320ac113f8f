import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { extractBundle } from "../../agent/bundle/extract.ts";
import { assertBundleIntact } from "../../agent/bundle/report.ts";
import { verifyBundle } from "../../agent/bundle/verify.ts";
import { verifyCommand } from "../../agent/cli/verify.ts";
import { BundleError, ExitCode, PayloadError, VaError } from "../../agent/errors/errors.ts";
import { buildTestBundle, captureLog, captureStdout, makeWorkspace, memberEntries, signedHead, writeRawTar, type Workspace, removeWorkspaces } from "./bundle-fixture.ts";

/** Byte offset of the rootfs member's body inside the bundle. */
function rootfsOffset(ws: Workspace, bundle: Buffer): number {
  const rootfs = readFileSync(ws.files.get("va.tar.xz")!);
  return bundle.indexOf(rootfs.subarray(0, 4096));
}

async function bundleWithFlippedPayloadByte(ws: Workspace): Promise<string> {
  const path = await buildTestBundle(ws);
  const bytes = readFileSync(path);
  bytes[rootfsOffset(ws, bytes) + 1_000_000]! ^= 0x01;
  writeFileSync(path, bytes);
  return path;
}

async function caught(promise: Promise<unknown>): Promise<VaError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VaError);
    return error as VaError;
  }
  throw new Error("expected an error");
}

afterAll(removeWorkspaces);

describe("a damaged bundle is reported by member name", () => {
  test("one flipped byte in the payload: verify names va.tar.xz, the rest stay ok", async () => {
    const ws = makeWorkspace();
    const report = await verifyBundle(await bundleWithFlippedPayloadByte(ws), { keyring: ws.keyring });
    expect(report.ok).toBe(false);
    expect(report.signature.ok).toBe(true);
    expect(report.members.filter((m) => !m.ok).map((m) => m.file)).toEqual(["va.tar.xz"]);
    const error = (() => {
      try {
        assertBundleIntact(report);
      } catch (e) {
        return e as PayloadError;
      }
    })();
    expect(error).toBeInstanceOf(PayloadError);
    expect(error!.message).toContain("va.tar.xz is corrupt");
  });

  test("verifyCommand exits with the payload code (6): --json names the member, human mode throws", async () => {
    const ws = makeWorkspace();
    const bundle = await bundleWithFlippedPayloadByte(ws);
    const json = await captureStdout(() => verifyCommand(bundle, { json: true, keyring: ws.keyring, insecure: false }, captureLog().log));
    expect(json.result).toBe(ExitCode.payload);
    const document = JSON.parse(json.stdout);
    expect(document.ok).toBe(false);
    expect(document.error.details.corrupt).toEqual(["va.tar.xz"]);
    expect(document.members.find((m: { file: string }) => m.file === "va.tar.xz").ok).toBe(false);
    const human = await captureStdout(() => caught(verifyCommand(bundle, { json: false, keyring: ws.keyring, insecure: false }, captureLog().log)));
    expect(human.result.exitCode).toBe(ExitCode.payload);
    expect(human.stdout).toMatch(/CORRUPT\s+va\.tar\.xz/);
  });

  test("extract of a bundle with a flipped byte leaves the staging directory empty", async () => {
    const ws = makeWorkspace();
    const dest = join(ws.dir, "upd");
    const error = await caught(extractBundle(await bundleWithFlippedPayloadByte(ws), dest, { keyring: ws.keyring }));
    expect(error).toBeInstanceOf(PayloadError);
    expect(error.message).toContain("va.tar.xz");
    expect(readdirSync(dest)).toEqual([]);
  });

  test("truncated bundle: a bundle error (14) saying which member is cut off", async () => {
    const ws = makeWorkspace();
    const bundle = await buildTestBundle(ws);
    truncateSync(bundle, rootfsOffset(ws, readFileSync(bundle)) + 100_000);
    const error = await caught(verifyBundle(bundle, { keyring: ws.keyring }));
    expect(error).toBeInstanceOf(BundleError);
    expect(error.exitCode).toBe(ExitCode.bundle);
    expect(error.message).toContain("is truncated: member va.tar.xz has only");
    expect(error.hint).toContain("fetch the bundle again");
  });

  test("a bundle cut at a member boundary (no end marker) is truncated too", async () => {
    const ws = makeWorkspace();
    const bundle = await buildTestBundle(ws);
    truncateSync(bundle, readFileSync(bundle).length - 1024);
    expect((await caught(verifyBundle(bundle, { keyring: ws.keyring }))).message).toContain("is truncated");
  });

  test("not a tar file at all", async () => {
    const ws = makeWorkspace();
    const path = join(ws.dir, "junk.tar");
    writeFileSync(path, Buffer.alloc(4096, 0x41));
    const error = await caught(verifyBundle(path, { keyring: ws.keyring }));
    expect(error.exitCode).toBe(ExitCode.bundle);
    expect(error.message).toContain("junk.tar is not a readable bundle: no valid tar header (not a tar file, or corrupt) at byte 0");
  });

  test("a missing member and an extra one are both reported", async () => {
    const ws = makeWorkspace();
    const head = await signedHead(ws);
    const members = memberEntries(ws).filter((e) => e.name !== "vmlinuz");
    const path = writeRawTar(join(ws.dir, "odd.tar"), [...head.entries, ...members, { name: "extra.bin", body: Buffer.from("x") }]);
    const report = await verifyBundle(path, { keyring: ws.keyring });
    expect(report.ok).toBe(false);
    expect(report.missing).toEqual([{ file: "vmlinuz", role: "tinySystem.kernel" }]);
    expect(report.unexpected).toEqual([{ file: "extra.bin", type: "file", reason: "not listed in the manifest" }]);
  });
});
