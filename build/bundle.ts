import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync, renameSync, statSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { keyIdOf } from "../agent/bundle/keyring.ts";
import { manifestKindOf } from "../agent/bundle/manifest-kind.ts";
import { fileRefAt, MEMBER_FIELDS } from "../agent/bundle/manifest-members.ts";
import { isPlainFileName, MANIFEST_MEMBER, SIGNATURE_MEMBER } from "../agent/bundle/member-name.ts";
import { signManifest } from "../agent/bundle/signature.ts";
import { BLOCK_BYTES, encodeHeader, paddingAfter } from "../agent/bundle/tar-header.ts";
import { parseManifest } from "../agent/manifest/manifest.ts";
import { sha256File } from "../agent/payload/copy-verified.ts";
import { parseSlotImageManifest } from "../agent/slots/slot-image-manifest.ts";

export interface BundleInputs {
  manifest: string;
  key: string;
  out: string;
  /** bundle member name → file on the build host */
  files: Map<string, string>;
  /** A slot image (`va-agent install`): the manifest must say `"kind": "slot-image"`; otherwise a migration bundle (`va-agent stage`). */
  slotImage?: boolean;
}

export interface BundleSummary {
  out: string;
  bytes: number;
  keyId: string;
  members: { file: string; bytes: number; sha256: string }[];
}

const CHUNK_BYTES = 4 * 1024 * 1024;

/** "NAME=PATH" arguments of --file. */
export function parseFileArgs(values: string[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const value of values) {
    const at = value.indexOf("=");
    const name = at > 0 ? value.slice(0, at) : "";
    if (!isPlainFileName(name) || at === value.length - 1) throw new Error(`--file wants NAME=PATH with a plain file name, got ${JSON.stringify(value)}`);
    if (files.has(name)) throw new Error(`--file ${name} given twice`);
    files.set(name, value.slice(at + 1));
  }
  return files;
}

/**
 * The signed upgrade bundle: a tar of manifest.json (bytes and SHA-256 of every member filled in),
 * manifest.json.sig, then the members sorted by name. Deterministic: same inputs, same bytes.
 * A slot image is the same format with the other manifest kind (a rootfs, no partition table).
 */
export async function buildBundle(inputs: BundleInputs): Promise<BundleSummary> {
  const privateKey = createPrivateKey(readFileSync(inputs.key));
  const document = JSON.parse(readFileSync(inputs.manifest, "utf8")) as Record<string, unknown>;
  requireKind(document, inputs);
  const members = await fillFileRefs(document, inputs.files);
  if (inputs.slotImage) parseSlotImageManifest(document, inputs.manifest);
  else parseManifest(document, inputs.manifest);
  const manifestBytes = Buffer.from(`${JSON.stringify(document, null, 2)}\n`);
  const signature = signManifest(manifestBytes, privateKey);
  await writeTar(inputs.out, manifestBytes, signature, members);
  return { out: inputs.out, bytes: statSync(inputs.out).size, keyId: keyIdOf(createPublicKey(privateKey)), members };
}

/** What the vendor asked for and what the manifest says it is must agree: a bundle is never the other kind by accident. */
function requireKind(document: Record<string, unknown>, inputs: BundleInputs): void {
  const slotImage = manifestKindOf(document) === "slot-image";
  if (inputs.slotImage && !slotImage) throw new Error(`--slot-image: ${inputs.manifest} is not a slot image manifest (it needs "kind": "slot-image")`);
  if (!inputs.slotImage && slotImage) throw new Error(`${inputs.manifest} is a slot image manifest ("kind": "slot-image"): build it with --slot-image`);
}

interface PlannedMember {
  file: string;
  path: string;
  bytes: number;
  sha256: string;
}

async function fillFileRefs(document: Record<string, unknown>, files: Map<string, string>): Promise<PlannedMember[]> {
  const members: PlannedMember[] = [];
  for (const [section, key] of MEMBER_FIELDS) {
    const ref = fileRefAt(document, section, key);
    if (!ref) continue;
    const file = String(ref.file);
    const path = files.get(file);
    if (path === undefined) throw new Error(`${section}.${key} names ${file}: give it with --file ${file}=PATH`);
    if (file === MANIFEST_MEMBER || file === SIGNATURE_MEMBER) throw new Error(`${section}.${key}: ${file} is a reserved member name`);
    if (members.some((m) => m.file === file)) throw new Error(`${section}.${key}: ${file} is referenced twice`);
    ref.bytes = statSync(path).size;
    ref.sha256 = await sha256File(path);
    members.push({ file, path, bytes: ref.bytes as number, sha256: ref.sha256 as string });
  }
  const unused = [...files.keys()].filter((name) => !members.some((m) => m.file === name));
  if (unused.length > 0) throw new Error(`--file ${unused.join(", ")}: not referenced by the manifest (it would be refused as unexpected)`);
  return members.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

async function writeTar(out: string, manifestBytes: Buffer, signature: Buffer, members: PlannedMember[]): Promise<void> {
  const partial = `${out}.partial`;
  const tar = await open(partial, "w", 0o644);
  try {
    await writeBufferMember(tar, MANIFEST_MEMBER, manifestBytes);
    await writeBufferMember(tar, SIGNATURE_MEMBER, signature);
    for (const member of members) await writeFileMember(tar, member);
    await tar.write(Buffer.alloc(2 * BLOCK_BYTES));
  } finally {
    await tar.close();
  }
  renameSync(partial, out);
}

async function writeBufferMember(tar: FileHandle, name: string, body: Buffer): Promise<void> {
  await tar.write(encodeHeader({ name, size: body.length, mode: 0o644, type: "file", linkName: "" }));
  await tar.write(body);
  await tar.write(Buffer.alloc(paddingAfter(body.length)));
}

async function writeFileMember(tar: FileHandle, member: PlannedMember): Promise<void> {
  const executable = (statSync(member.path).mode & 0o111) !== 0;
  await tar.write(encodeHeader({ name: member.file, size: member.bytes, mode: executable ? 0o755 : 0o644, type: "file", linkName: "" }));
  const source = await open(member.path, "r");
  try {
    let done = 0;
    const buffer = Buffer.alloc(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await source.read(buffer, 0, buffer.length, done);
      if (bytesRead === 0) break;
      await tar.write(buffer.subarray(0, bytesRead));
      done += bytesRead;
    }
    if (done !== member.bytes) throw new Error(`${member.path} changed while the bundle was written (${done} bytes, hashed ${member.bytes})`);
  } finally {
    await source.close();
  }
  await tar.write(Buffer.alloc(paddingAfter(member.bytes)));
}
