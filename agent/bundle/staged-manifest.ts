import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ManifestError, SignatureError } from "../errors/errors.ts";
import { warnLoudly, type Log } from "../log/logger.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { INSECURE_ARG, type StagedTrust } from "../manifest/staged-trust.ts";
import { MANIFEST_MEMBER, SIGNATURE_MEMBER } from "./member-name.ts";
import { checkManifestSignature, insecureWarning, parseManifestBytes } from "./signed-manifest.ts";

/**
 * The staged manifest as the tiny system reads it: manifest.json and the manifest.json.sig stage
 * wrote beside it, checked against the tiny system's own keyring by the rule stage used, before
 * anything trusts a field of it. Returns the verified bytes: the copy in RAM is made from them,
 * never by reading the file again.
 */
export function loadSignedStagedManifest(dir: string, trust: StagedTrust, log: Log): { manifest: Readonly<Manifest>; bytes: Buffer } {
  const source = join(dir, MANIFEST_MEMBER);
  const bytes = readStaged(source);
  const signature = readOptional(join(dir, SIGNATURE_MEMBER));
  const check = withTinySystemHint(() => checkManifestSignature(bytes, signature, trust, () => unsignedError(dir)));
  if (check.insecure) warnLoudly(log, `${insecureWarning(check)} (${INSECURE_ARG} on the kernel command line: stage was given --insecure)`);
  else log.info(`staged manifest signed by key ${check.keyId} (${check.keyFile})`);
  return { manifest: parseManifestBytes(source, bytes), bytes };
}

/** The keyring here is the initramfs's, not the old system's: say what can have happened since stage. */
function withTinySystemHint<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error;
    throw new SignatureError(
      `${error.message} (checked by the tiny system)`,
      "The staged manifest was changed after `stage` verified it, or this tiny system was built (`build.ts initramfs --keyring`) with other keys than the one that signed the bundle. " +
        "Nothing was changed: on the old system run `va-agent stage --undo`, then stage the vendor's bundle again.",
      error.details,
    );
  }
}

function unsignedError(dir: string): SignatureError {
  return new SignatureError(
    `the staged manifest in ${dir} is not signed: there is no ${SIGNATURE_MEMBER} beside ${MANIFEST_MEMBER}`,
    "Stage the vendor's signed bundle with `va-agent stage BUNDLE` (it writes the signature next to the manifest); nothing was changed.",
    { stagingDir: dir },
  );
}

function readStaged(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ManifestError(`cannot read manifest ${path}: ${(error as Error).message}`, "Check the staging directory holds manifest.json; stage the bundle again with `va-agent stage`. Nothing was changed.");
  }
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}
