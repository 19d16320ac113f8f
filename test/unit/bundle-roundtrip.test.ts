import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { extractBundle } from "../../agent/bundle/extract.ts";
import { verifyBundle } from "../../agent/bundle/verify.ts";
import { verifyCommand } from "../../agent/cli/verify.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { generateSigningKeys } from "../../build/keygen.ts";
import { buildTestBundle, captureLog, captureStdout, makeWorkspace, tarMember, removeWorkspaces } from "./bundle-fixture.ts";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

afterAll(removeWorkspaces);

describe("keygen, bundle, verify, extract round trip", () => {
  test("keygen writes a 0600 PKCS8 private key and an SPKI public key, and never overwrites them", () => {
    const ws = makeWorkspace();
    expect(statSync(ws.keys.privateKeyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(ws.keys.privateKeyFile, "utf8")).toStartWith("-----BEGIN PRIVATE KEY-----");
    expect(readFileSync(ws.keys.publicKeyFile, "utf8")).toStartWith("-----BEGIN PUBLIC KEY-----");
    expect(ws.keys.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(() => generateSigningKeys(join(ws.dir, "vendor"))).toThrow(/EEXIST/);
  });

  test("the bundle's manifest carries bytes and SHA-256 of every member and is signed first", async () => {
    const ws = makeWorkspace();
    const bundle = await buildTestBundle(ws);
    const listing = Bun.spawnSync(["tar", "-tf", bundle], { stdout: "pipe" }).stdout.toString().trim().split("\n");
    expect(listing).toEqual(["manifest.json", "manifest.json.sig", "initramfs-convert.img", "va-agent", "va.sgdisk", "va.tar.xz", "vmlinuz"]);
    const manifest = parseManifest(JSON.parse(tarMember(bundle, "manifest.json").toString()));
    const rootfs = readFileSync(ws.files.get("va.tar.xz")!);
    expect(manifest.payload.rootfs).toMatchObject({ file: "va.tar.xz", bytes: rootfs.length, sha256: sha256(rootfs) });
    expect(manifest.tinySystem?.agent?.sha256).toBe(sha256(readFileSync(ws.files.get("va-agent")!)));
    expect(tarMember(bundle, "manifest.json.sig").length).toBe(64);
  });

  test("building twice gives the same bytes", async () => {
    const ws = makeWorkspace();
    const first = readFileSync(await buildTestBundle(ws, "one.tar"));
    const second = readFileSync(await buildTestBundle(ws, "two.tar"));
    expect(sha256(first)).toBe(sha256(second));
  });

  test("verify: signature by the keyring's key, every member ok", async () => {
    const ws = makeWorkspace();
    const report = await verifyBundle(await buildTestBundle(ws), { keyring: ws.keyring });
    expect(report.ok).toBe(true);
    expect(report.signature).toMatchObject({ ok: true, keyId: ws.keys.keyId, insecure: false });
    expect(report.members.map((m) => [m.file, m.ok])).toEqual([
      ["initramfs-convert.img", true],
      ["va-agent", true],
      ["va.sgdisk", true],
      ["va.tar.xz", true],
      ["vmlinuz", true],
    ]);
    expect(report.missing).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(report.warnings).toEqual([]);
  });

  test("verifyCommand prints the report with progress and exits 0; --json is the report", async () => {
    const ws = makeWorkspace();
    const bundle = await buildTestBundle(ws);
    const { log, lines } = captureLog();
    const human = await captureStdout(() => verifyCommand(bundle, { json: false, keyring: ws.keyring, insecure: false }, log));
    expect(human.result).toBe(0);
    expect(human.stdout).toContain(`signature ok, key ${ws.keys.keyId}`);
    expect(human.stdout).toContain("result    OK");
    expect(lines.some((line) => line.includes("verifying va.tar.xz: 100%"))).toBe(true);
    const json = await captureStdout(() => verifyCommand(bundle, { json: true, keyring: ws.keyring, insecure: false }, captureLog().log));
    expect(json.result).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, signature: { ok: true, keyId: ws.keys.keyId } });
  });

  test("extract writes every member, the manifest and its signature, with the agent executable", async () => {
    const ws = makeWorkspace();
    const dest = join(ws.dir, "upd");
    const report = await extractBundle(await buildTestBundle(ws), dest, { keyring: ws.keyring });
    expect(report.ok).toBe(true);
    expect(readdirSync(dest).sort()).toEqual(["initramfs-convert.img", "manifest.json", "manifest.json.sig", "va-agent", "va.sgdisk", "va.tar.xz", "vmlinuz"]);
    for (const [name, source] of ws.files) expect(sha256(readFileSync(join(dest, name)))).toBe(sha256(readFileSync(source)));
    expect(statSync(join(dest, "va-agent")).mode & 0o777).toBe(0o755);
    expect(statSync(join(dest, "va.tar.xz")).mode & 0o777).toBe(0o644);
    expect(existsSync(join(dest, "manifest.json"))).toBe(true);
  });

  test("bun build.ts keygen and bundle from the command line", async () => {
    const ws = makeWorkspace();
    const repo = join(import.meta.dir, "../..");
    const run = (args: string[]) => Bun.spawnSync([process.execPath, "build.ts", ...args], { cwd: repo, stdout: "pipe", stderr: "pipe" });
    const keygen = run(["keygen", "--out", join(ws.dir, "cli-keys")]);
    expect(keygen.exitCode).toBe(0);
    const out = join(ws.dir, "cli.tar");
    const files = [...ws.files].flatMap(([name, path]) => ["--file", `${name}=${path}`]);
    const bundle = run(["bundle", "--manifest", ws.manifest, "--key", join(ws.dir, "cli-keys/va-signing.key"), "--out", out, ...files]);
    expect(bundle.stderr.toString()).toBe("");
    expect(bundle.exitCode).toBe(0);
    const report = await verifyBundle(out, { keyring: join(ws.dir, "cli-keys") });
    expect(report.ok).toBe(true);
    expect(bundle.stdout.toString()).toContain(`signed by key ${report.signature.keyId}`);
    const missingFile = run(["bundle", "--manifest", ws.manifest, "--key", join(ws.dir, "cli-keys/va-signing.key"), "--out", out, ...files.slice(2)]);
    expect(missingFile.exitCode).toBe(1);
    expect(missingFile.stderr.toString()).toContain("give it with --file");
  });
});
