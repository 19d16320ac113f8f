import { checkMemberDigest } from "../bundle/member-digest.ts";
import { createHash } from "node:crypto";
import { assertBundleIntact } from "../bundle/report.ts";
import { readSignedHead, type BundleOptions, type SignedHead } from "../bundle/signed-manifest.ts";
import { readTar } from "../bundle/tar-reader.ts";
import { verifyBundle } from "../bundle/verify.ts";
import { BundleError, PayloadError } from "../errors/errors.ts";
import type { Progress } from "../log/logger.ts";
import { parseSlotImageBytes, type SlotImageManifest } from "./slot-image-manifest.ts";

export type SlotImageHead = Omit<SignedHead<SlotImageManifest>, "rest">;

/** The signed head of a slot image: the signature checked against the keyring first, a migration bundle refused by name. */
export async function readSlotImageHead(bundle: string, options: BundleOptions): Promise<SlotImageHead> {
  const tar = readTar(bundle);
  try {
    const { rest: _, ...head } = await readSignedHead(bundle, tar, options, parseSlotImageBytes);
    return head;
  } finally {
    await tar.return(undefined);
  }
}

/** Every member against the signed manifest, the bundle read once: a corrupt download is refused before the slot is touched. */
export async function verifySlotImage(bundle: string, head: SlotImageHead, options: BundleOptions): Promise<void> {
  const report = await verifyBundle(bundle, options);
  assertBundleIntact(report);
  if (report.product.release !== head.manifest.product.release || report.product.name !== head.manifest.product.name) throw changedUnderfoot(bundle);
}

/**
 * The rootfs member streamed from the bundle (tar reads it on its stdin), its SHA-256 and size
 * checked as it passes: the manifest read again must be the one the install was planned from, and
 * a member that does not match fails the extraction (the slot stays marked bad).
 */
export async function* rootfsChunks(bundle: string, planned: SlotImageHead, options: BundleOptions, progress: Progress): AsyncGenerator<Uint8Array> {
  const tar = readTar(bundle);
  try {
    const head = await readSignedHead(bundle, tar, options, parseSlotImageBytes);
    if (!head.manifestBytes.equals(planned.manifestBytes)) throw changedUnderfoot(bundle);
    const rootfs = head.manifest.payload.rootfs;
    for await (const member of head.rest) {
      if (member.name !== rootfs.file) continue;
      const hash = createHash("sha256");
      let bytes = 0;
      for await (const chunk of member.body()) {
        hash.update(chunk);
        bytes += chunk.length;
        progress.update(bytes, member.size);
        yield Buffer.from(chunk); // the reader reuses its buffer; the pipe may still hold this one
      }
      checkMemberDigest(rootfs, { bytes, sha256: hash.digest("hex") }, "Download the slot image again and verify it (`va-agent verify BUNDLE`), then install again; the slot being installed stays marked bad, the running one is untouched.");
      return;
    }
    throw new PayloadError(`bundle ${bundle} has no member ${rootfs.file} (payload.rootfs)`, "Download the slot image again; the slot being installed stays marked bad, the running one is untouched.", { member: rootfs.file });
  } finally {
    await tar.return(undefined);
  }
}

function changedUnderfoot(bundle: string): BundleError {
  return new BundleError(`bundle ${bundle} changed while it was being installed`, "Leave the bundle file alone while `va-agent install` runs, then install again.", { bundle });
}
