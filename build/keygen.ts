import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyIdOf } from "../agent/bundle/keyring.ts";

export interface SigningKeys {
  privateKeyFile: string;
  publicKeyFile: string;
  keyId: string;
}

/** An Ed25519 pair: va-signing.key (PKCS8 PEM, 0600) signs bundles; va-signing.pub goes into appliances' keyrings. */
export function generateSigningKeys(outDir: string): SigningKeys {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  mkdirSync(outDir, { recursive: true });
  const privateKeyFile = join(outDir, "va-signing.key");
  const publicKeyFile = join(outDir, "va-signing.pub");
  // "wx": never overwrite a key pair; bundles already signed with it would become unverifiable.
  writeFileSync(privateKeyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  writeFileSync(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644, flag: "wx" });
  return { privateKeyFile, publicKeyFile, keyId: keyIdOf(publicKey) };
}
