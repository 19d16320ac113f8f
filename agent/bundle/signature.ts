import { sign, verify, type KeyObject } from "node:crypto";
import { SignatureError } from "../errors/errors.ts";
import { installKeyHint, type Keyring, type TrustedKey } from "./keyring.ts";

/** manifest.json.sig holds the raw Ed25519 signature over the exact bytes of manifest.json. */
export const SIGNATURE_BYTES = 64;

export function signManifest(manifestBytes: Uint8Array, privateKey: KeyObject): Buffer {
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error(`signing key is ${privateKey.asymmetricKeyType}, not Ed25519`);
  return sign(null, manifestBytes, privateKey);
}

/** The trusted key that made this signature; throws when none did. */
export function verifyManifestSignature(manifestBytes: Uint8Array, signature: Uint8Array, keyring: Keyring): TrustedKey {
  if (signature.length !== SIGNATURE_BYTES) {
    throw new SignatureError(
      `manifest.json.sig has ${signature.length} bytes; an Ed25519 signature has ${SIGNATURE_BYTES}`,
      "The bundle is damaged or was not made by `build.ts bundle`: get it from the vendor again; nothing was changed.",
      { signatureBytes: signature.length },
    );
  }
  const signer = keyring.keys.find((trusted) => verify(null, manifestBytes, trusted.key, signature));
  if (signer) return signer;
  // A raw signature does not name its key, so "edited after signing" and "unknown key" look the same.
  throw new SignatureError(
    `the manifest's signature matches none of the ${keyring.keys.length} trusted key(s) in ${keyring.dir}: the manifest was changed after signing, or signed by a key this appliance does not trust`,
    `Get the bundle from the vendor again. If the vendor's key is new: ${installKeyHint(keyring.dir)}`,
    { keyring: keyring.dir, trustedKeys: keyring.keys.map((k) => k.id) },
  );
}
