import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { verifyBundle } from "../../agent/bundle/verify.ts";
import { verifyCommand } from "../../agent/cli/verify.ts";
import { ExitCode, SignatureError, VaError } from "../../agent/errors/errors.ts";
import { generateSigningKeys } from "../../build/keygen.ts";
import { buildTestBundle, captureLog, captureStdout, makeWorkspace, memberEntries, signedHead, writeRawTar, removeWorkspaces } from "./bundle-fixture.ts";

async function refusal(promise: Promise<unknown>): Promise<SignatureError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SignatureError);
    expect((error as VaError).exitCode).toBe(ExitCode.signature);
    return error as SignatureError;
  }
  throw new Error("expected the bundle to be refused");
}

afterAll(removeWorkspaces);

describe("only bundles signed by a trusted key are accepted", () => {
  test("manifest edited after signing: refused", async () => {
    const ws = makeWorkspace();
    const head = await signedHead(ws);
    const edited = Buffer.from(head.manifest.toString().replace('"release": "13.0"', '"release": "13.9"'));
    expect(edited.equals(head.manifest)).toBe(false);
    const path = writeRawTar(join(ws.dir, "edited.tar"), [{ name: "manifest.json", body: edited }, { name: "manifest.json.sig", body: head.signature }, ...memberEntries(ws)]);
    const error = await refusal(verifyBundle(path, { keyring: ws.keyring }));
    expect(error.message).toContain("matches none of the 1 trusted key(s)");
  });

  test("signed with a key the keyring does not hold: refused, the hint names the keyring directory", async () => {
    const ws = makeWorkspace();
    const stranger = generateSigningKeys(join(ws.dir, "stranger"));
    const bundle = await buildTestBundle(ws, "stranger.tar", stranger.privateKeyFile);
    const error = await refusal(verifyBundle(bundle, { keyring: ws.keyring }));
    expect(error.hint).toContain(ws.keyring);
  });

  test("an empty or absent keyring: refused, the hint says where to install the key", async () => {
    const ws = makeWorkspace();
    const bundle = await buildTestBundle(ws);
    const empty = join(ws.dir, "empty-keyring");
    mkdirSync(empty);
    for (const keyring of [empty, join(ws.dir, "no-such-dir")]) {
      const error = await refusal(verifyBundle(bundle, { keyring }));
      expect(error.message).toContain(`no trusted keys in ${keyring}`);
      expect(error.hint).toContain(`${keyring}/NAME.pub`);
    }
  });

  test("unsigned bundle: refused", async () => {
    const ws = makeWorkspace();
    const head = await signedHead(ws);
    const path = writeRawTar(join(ws.dir, "unsigned.tar"), [head.entries[0]!, ...memberEntries(ws)]);
    const error = await refusal(verifyBundle(path, { keyring: ws.keyring }));
    expect(error.message).toContain("is not signed");
    expect(error.hint).toContain("--insecure");
  });

  test("unsigned bundle with --insecure: accepted with a loud warning", async () => {
    const ws = makeWorkspace();
    const head = await signedHead(ws);
    const path = writeRawTar(join(ws.dir, "unsigned.tar"), [head.entries[0]!, ...memberEntries(ws)]);
    const report = await verifyBundle(path, { keyring: ws.keyring, insecure: true });
    expect(report.ok).toBe(true);
    expect(report.signature).toMatchObject({ ok: false, insecure: true });
    expect(report.warnings[0]).toStartWith("INSECURE: the bundle's signature was NOT verified");
    const { log, lines } = captureLog();
    const run = await captureStdout(() => verifyCommand(path, { json: false, keyring: ws.keyring, insecure: true }, log));
    expect(run.result).toBe(0);
    expect(run.stdout).toContain("signature NOT VERIFIED (--insecure)");
    const warnings = lines.filter((line) => line.includes("WARN: "));
    expect(warnings.some((line) => line.includes("!".repeat(72)))).toBe(true);
    expect(warnings.some((line) => line.includes("INSECURE") && line.includes("never use --insecure on a production appliance"))).toBe(true);
  });

  test("--json reports a refused signature with its exit code and hint", async () => {
    const ws = makeWorkspace();
    const stranger = generateSigningKeys(join(ws.dir, "stranger"));
    const bundle = await buildTestBundle(ws, "stranger.tar", stranger.privateKeyFile);
    const run = await captureStdout(() => verifyCommand(bundle, { json: true, keyring: ws.keyring, insecure: false }, captureLog().log));
    expect(run.result).toBe(ExitCode.signature);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { kind: "signature", exitCode: 13 } });
  });
});
