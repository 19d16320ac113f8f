import { checkMemberDigest } from "../bundle/member-digest.ts";
import { createHash } from "node:crypto";
import { readBundleHead, type BundleOptions } from "../bundle/signed-manifest.ts";
import { readTar } from "../bundle/tar-reader.ts";
import { BundleError, PayloadError } from "../errors/errors.ts";
import type { Manifest } from "../manifest/manifest.ts";
import type { Runner } from "../runner/runner.ts";
import { lintCompressedArchive } from "./archive-lint.ts";
import type { ArchiveLintResult } from "./archive-linter.ts";
import { NoXzError } from "./decompressor.ts";

/** The lint's result, or, on a system without xz, that the members are to be checked in the tiny system (the digest was verified). */
export type BundledRootfsCheck = { manifest: Readonly<Manifest> } & ({ archiveCheck: "at-stage"; lint: ArchiveLintResult } | { archiveCheck: "deferred" });

/**
 * Streams the rootfs member straight from the bundle into the lint: nothing is written, and the
 * member's SHA-256 is checked in the same pass, so a corrupt download is reported as that (exit 6)
 * and not as an unsafe archive.
 */
export async function lintBundledRootfs(run: Runner, bundle: string, options: BundleOptions = {}): Promise<BundledRootfsCheck> {
  const tar = readTar(bundle);
  try {
    const head = await readBundleHead(bundle, tar, options);
    const rootfs = head.manifest.payload.rootfs;
    for await (const member of head.rest) {
      if (member.name !== rootfs.file) continue;
      const hash = createHash("sha256");
      let bytes = 0;
      let lint: ArchiveLintResult | undefined;
      let problem: unknown;
      try {
        lint = await lintCompressedArchive(run, member.body(), rootfs.compression, rootfs.file, (chunk) => {
          hash.update(chunk);
          bytes += chunk.length;
        });
      } catch (error) {
        if (error instanceof BundleError) throw error; // the bundle file itself is truncated
        problem = error;
      }
      checkMemberDigest(rootfs, { bytes, sha256: hash.digest("hex") }, "Download the bundle again and verify it (`va-agent verify BUNDLE`); nothing was changed.");
      if (problem instanceof NoXzError) return { manifest: head.manifest, archiveCheck: "deferred" };
      if (problem !== undefined) throw problem;
      return { manifest: head.manifest, archiveCheck: "at-stage", lint: lint! };
    }
    throw new PayloadError(`bundle ${bundle} has no member ${rootfs.file} (payload.rootfs)`, "Download the bundle again; nothing was changed.", { member: rootfs.file });
  } finally {
    await tar.return(undefined);
  }
}
