import { createHash } from "node:crypto";
import { BundleError, PayloadError } from "../errors/errors.ts";
import type { FileRef } from "../manifest/manifest.ts";
import { readBundleHead, readSmall, type BundleHead, type BundleOptions } from "./signed-manifest.ts";
import { readTar } from "./tar-reader.ts";

const SMALL_MEMBER_LIMIT = 1024 * 1024;

/**
 * The signed manifest plus one small member it references (the partition table), checked against
 * the manifest — what pre-flight needs before anything is written to the machine.
 */
export async function readSignedMember(bundle: string, ref: (head: BundleHead) => FileRef, options: BundleOptions): Promise<{ head: BundleHead; bytes: Buffer }> {
  const tar = readTar(bundle);
  try {
    const head = await readBundleHead(bundle, tar, options);
    const wanted = ref(head);
    for await (const member of head.rest) {
      if (member.name !== wanted.file) continue;
      const bytes = await readSmall(bundle, member, SMALL_MEMBER_LIMIT);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (sha256 !== wanted.sha256) {
        throw new PayloadError(
          `bundle member ${wanted.file} is corrupt: SHA-256 ${sha256}, the manifest says ${wanted.sha256}`,
          "Download the bundle again; nothing was changed.",
          { member: wanted.file },
        );
      }
      return { head, bytes };
    }
    throw new BundleError(`bundle ${bundle} has no member ${wanted.file}`, "Download the bundle again; nothing was changed.", { member: wanted.file });
  } finally {
    await tar.return(undefined);
  }
}
