import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SignatureError } from "../errors/errors.ts";

/** Public keys the appliance trusts, one PEM (SPKI) Ed25519 key per `*.pub` file. */
export const DEFAULT_KEYRING_DIR = "/etc/va-agent/keys";

export interface TrustedKey {
  id: string;
  file: string;
  key: KeyObject;
}

export interface Keyring {
  dir: string;
  keys: TrustedKey[];
}

/** A short, stable name for a key: the first 16 hex digits of the SHA-256 of its SPKI encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex").slice(0, 16);
}

export function loadKeyring(dir = DEFAULT_KEYRING_DIR): Keyring {
  const files = publicKeyFiles(dir);
  if (files.length === 0) {
    throw new SignatureError(`no trusted keys in ${dir} (no *.pub file)`, installKeyHint(dir), { keyring: dir });
  }
  return { dir, keys: files.map((file) => loadTrustedKey(join(dir, file), dir)) };
}

export function installKeyHint(dir: string): string {
  return `Install the vendor's public key (va-signing.pub from \`build.ts keygen\`) as ${dir}/NAME.pub, or pass --keyring DIR; nothing was changed.`;
}

function publicKeyFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => name.endsWith(".pub")).sort();
  } catch {
    return [];
  }
}

function loadTrustedKey(file: string, dir: string): TrustedKey {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(file));
  } catch (error) {
    throw new SignatureError(`trusted key ${file} is not a PEM public key: ${(error as Error).message}`, `Replace or remove ${file}; the keyring is ${dir}.`, { keyring: dir, file });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new SignatureError(`trusted key ${file} is ${key.asymmetricKeyType}, not Ed25519`, `Replace ${file} with the vendor's Ed25519 public key; the keyring is ${dir}.`, { keyring: dir, file });
  }
  return { id: keyIdOf(key), file, key };
}
