import { createPrivateKey } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signManifest } from "../../agent/bundle/signature.ts";
import { BLOCK_BYTES, encodeHeader, paddingAfter, type TarEntryType } from "../../agent/bundle/tar-header.ts";
import { createLog, type Log } from "../../agent/log/logger.ts";
import { buildBundle } from "../../build/bundle.ts";
import { generateSigningKeys, type SigningKeys } from "../../build/keygen.ts";
import { manifestDocument } from "./fixtures/shapes.ts";

/** A temp dir with a vendor key pair, an appliance keyring trusting it, and the member files of a bundle. */
export interface Workspace {
  dir: string;
  keys: SigningKeys;
  keyring: string;
  files: Map<string, string>;
  manifest: string;
}

const workspaces: string[] = [];

/** Call from afterAll: the streaming test leaves 600 MB behind otherwise. */
export function removeWorkspaces(): void {
  for (const dir of workspaces.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function makeWorkspace(options: { rootfs?: (path: string) => void } = {}): Workspace {
  const dir = mkdtempSync(join(tmpdir(), "va-bundle-"));
  workspaces.push(dir);
  const keys = generateSigningKeys(join(dir, "vendor"));
  const keyring = join(dir, "keyring");
  mkdirSync(keyring);
  copyFileSync(keys.publicKeyFile, join(keyring, "vendor.pub"));
  const files = memberFiles(join(dir, "in"), options.rootfs);
  const manifest = join(dir, "manifest.template.json");
  writeFileSync(manifest, JSON.stringify(manifestTemplate()));
  return { dir, keys, keyring, files, manifest };
}

export function manifestTemplate(): Record<string, unknown> {
  const document = manifestDocument();
  document.tinySystem = { kernel: { file: "vmlinuz", sha256: "0".repeat(64) }, initramfs: { file: "initramfs-convert.img", sha256: "0".repeat(64) }, agent: { file: "va-agent", sha256: "0".repeat(64) } };
  return document;
}

function memberFiles(dir: string, rootfs?: (path: string) => void): Map<string, string> {
  mkdirSync(dir);
  const path = (name: string) => join(dir, name);
  copyFileSync(join(import.meta.dir, "fixtures/va-6g.sgdisk"), path("va.sgdisk"));
  if (rootfs) rootfs(path("va.tar.xz"));
  else writeFileSync(path("va.tar.xz"), randomBytes(3 * 1024 * 1024 + 123));
  writeFileSync(path("vmlinuz"), randomBytes(700_001));
  writeFileSync(path("initramfs-convert.img"), randomBytes(1_000_003));
  writeFileSync(path("va-agent"), randomBytes(512 * 3), { mode: 0o755 });
  return new Map(["va.sgdisk", "va.tar.xz", "vmlinuz", "initramfs-convert.img", "va-agent"].map((name) => [name, path(name)]));
}

function randomBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = length;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

export async function buildTestBundle(ws: Workspace, name = "bundle.tar", key = ws.keys.privateKeyFile): Promise<string> {
  const out = join(ws.dir, name);
  await buildBundle({ manifest: ws.manifest, key, out, files: ws.files });
  return out;
}

export interface RawEntry {
  name: string;
  body?: Buffer;
  type?: TarEntryType;
  linkName?: string;
}

/** A tar written entry by entry, for bundles build.ts would never make. */
export function writeRawTar(path: string, entries: RawEntry[]): string {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = entry.body ?? Buffer.alloc(0);
    parts.push(encodeHeader({ name: entry.name, size: body.length, mode: 0o644, type: entry.type ?? "file", linkName: entry.linkName ?? "" }));
    parts.push(body, Buffer.alloc(paddingAfter(body.length)));
  }
  parts.push(Buffer.alloc(2 * BLOCK_BYTES));
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

/** The manifest.json and manifest.json.sig a real build makes, as raw tar entries. */
export async function signedHead(ws: Workspace): Promise<{ manifest: Buffer; signature: Buffer; entries: RawEntry[] }> {
  const bundle = await buildTestBundle(ws, "for-head.tar");
  const manifest = tarMember(bundle, "manifest.json");
  const signature = signManifest(manifest, createPrivateKey(readFileSync(ws.keys.privateKeyFile)));
  return { manifest, signature, entries: [{ name: "manifest.json", body: manifest }, { name: "manifest.json.sig", body: signature }] };
}

export function memberEntries(ws: Workspace): RawEntry[] {
  return [...ws.files].map(([name, path]) => ({ name, body: readFileSync(path) }));
}

/** GNU tar reads our bundles too: extract one member with it. */
export function tarMember(bundle: string, name: string): Buffer {
  const result = Bun.spawnSync(["tar", "-xOf", bundle, name], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`tar -xOf ${bundle} ${name}: ${result.stderr.toString()}`);
  return Buffer.from(result.stdout);
}

export function captureLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  return { log: createLog({ console: (line) => lines.push(line) }), lines };
}

/** Runs fn with process.stdout.write captured. */
export async function captureStdout<T>(fn: () => Promise<T>): Promise<{ result: T; stdout: string }> {
  const original = process.stdout.write.bind(process.stdout);
  let stdout = "";
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    return { result: await fn(), stdout };
  } finally {
    process.stdout.write = original;
  }
}
