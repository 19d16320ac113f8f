import { BundleError, ManifestError, SignatureError } from "../errors/errors.ts";
import type { Progress } from "../log/logger.ts";
import { parseManifest, type Manifest } from "../manifest/manifest.ts";
import { loadKeyring } from "./keyring.ts";
import { refuseOtherKind } from "./manifest-kind.ts";
import { MANIFEST_MEMBER, SIGNATURE_MEMBER } from "./member-name.ts";
import type { SignatureCheck } from "./report.ts";
import { verifyManifestSignature } from "./signature.ts";
import type { TarMember } from "./tar-reader.ts";

export interface BundleOptions {
  /** Directory of trusted `*.pub` keys; default /etc/va-agent/keys. */
  keyring?: string;
  /** Accept an unsigned or wrongly signed bundle, with a loud warning. Development only. */
  insecure?: boolean;
  /** A progress reporter per member (Log.progress fits). */
  progress?: (label: string) => Progress;
}

/** The signed head of a bundle, its manifest parsed as the kind the reader needs (M). */
export interface SignedHead<M> {
  manifest: Readonly<M>;
  manifestBytes: Buffer;
  signatureBytes?: Buffer;
  signature: SignatureCheck;
  warnings: string[];
  /** The members after manifest.json and manifest.json.sig. */
  rest: AsyncGenerator<TarMember>;
}

/** A migration bundle's head (`stage`, the tiny system). */
export type BundleHead = SignedHead<Manifest>;

const MANIFEST_LIMIT_BYTES = 1024 * 1024;
const SIGNATURE_LIMIT_BYTES = 1024;

/** Reads manifest.json and manifest.json.sig, the first two members, and checks the signature before anything else: a migration bundle. */
export function readBundleHead(bundle: string, tar: AsyncGenerator<TarMember>, options: BundleOptions): Promise<BundleHead> {
  return readSignedHead(bundle, tar, options, parseManifestBytes);
}

/** The same head for any manifest kind: `parse` turns the signed bytes into the manifest the caller needs (and refuses another kind). */
export async function readSignedHead<M>(bundle: string, tar: AsyncGenerator<TarMember>, options: BundleOptions, parse: (source: string, bytes: Buffer) => Readonly<M>): Promise<SignedHead<M>> {
  const manifestMember = await nextMember(tar);
  if (manifestMember?.name !== MANIFEST_MEMBER || manifestMember.type !== "file") {
    throw new BundleError(
      `${bundle} is not a va-agent bundle: its first member is ${manifestMember ? JSON.stringify(manifestMember.name) : "missing"}, not ${MANIFEST_MEMBER}`,
      "Use a bundle made by `build.ts bundle`; nothing was changed.",
      { bundle },
    );
  }
  const manifestBytes = await readSmall(bundle, manifestMember, MANIFEST_LIMIT_BYTES);
  const second = await nextMember(tar);
  const signed = second?.name === SIGNATURE_MEMBER && second.type === "file";
  const signatureBytes = signed ? await readSmall(bundle, second, SIGNATURE_LIMIT_BYTES) : undefined;
  const signature = checkManifestSignature(manifestBytes, signatureBytes, options, () => unsignedError(bundle));
  const manifest = parse(`${bundle}:${MANIFEST_MEMBER}`, manifestBytes);
  const warnings = signature.insecure ? [insecureWarning(signature)] : [];
  return { manifest, manifestBytes, signatureBytes, signature, warnings, rest: signed ? tar : prepend(second, tar) };
}

/** One rule for `stage` and the tiny system: a trusted key signed these bytes, or --insecure accepts them with a warning. */
export function checkManifestSignature(manifestBytes: Buffer, signatureBytes: Buffer | undefined, options: Pick<BundleOptions, "keyring" | "insecure">, unsigned: () => SignatureError): SignatureCheck {
  try {
    if (!signatureBytes) throw unsigned();
    const signer = verifyManifestSignature(manifestBytes, signatureBytes, loadKeyring(options.keyring));
    return { ok: true, keyId: signer.id, keyFile: signer.file, insecure: false };
  } catch (error) {
    if (!options.insecure || !(error instanceof SignatureError)) throw error;
    return { ok: false, insecure: true, problem: error.message };
  }
}

function unsignedError(bundle: string): SignatureError {
  return new SignatureError(
    `bundle ${bundle} is not signed: its second member is not ${SIGNATURE_MEMBER}`,
    "Use a bundle signed by the vendor (`build.ts bundle --key KEY`); --insecure accepts an unsigned bundle for development only. Nothing was changed.",
    { bundle },
  );
}

export function insecureWarning(signature: SignatureCheck): string {
  return `INSECURE: the bundle's signature was NOT verified (--insecure): ${signature.problem}. Anyone could have made or altered this bundle; never use --insecure on a production appliance.`;
}

/** A migration manifest from its signed bytes; a slot image is refused by name (it is for `va-agent install`). */
export function parseManifestBytes(source: string, bytes: Buffer): Readonly<Manifest> {
  const document = parseManifestJson(source, bytes);
  refuseOtherKind(source, document, "migration");
  return parseManifest(document, source);
}

export function parseManifestJson(source: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new ManifestError(`${source} is not JSON: ${(error as Error).message}`, "Rebuild the bundle with `build.ts bundle`; nothing was changed.");
  }
}

export async function readSmall(bundle: string, member: TarMember, limit: number): Promise<Buffer> {
  if (member.size > limit) {
    throw new BundleError(`${bundle}: ${member.name} has ${member.size} bytes, more than the ${limit} allowed`, "Use a bundle made by `build.ts bundle`; nothing was changed.", { bundle });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of member.body()) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function nextMember(tar: AsyncGenerator<TarMember>): Promise<TarMember | undefined> {
  const next = await tar.next();
  return next.done ? undefined : next.value;
}

async function* prepend(first: TarMember | undefined, rest: AsyncGenerator<TarMember>): AsyncGenerator<TarMember> {
  if (first) yield first;
  yield* rest;
}
