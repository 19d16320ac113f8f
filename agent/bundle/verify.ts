import { digestMember } from "./member-digest.ts";
import { MemberChecklist } from "./member-checklist.ts";
import { isBundleIntact, type BundleReport, type MemberCheck, type UnexpectedMember } from "./report.ts";
import { type AnyManifest, parseAnyManifestBytes } from "./any-manifest.ts";
import { readSignedHead, type BundleOptions } from "./signed-manifest.ts";
import { readTar } from "./tar-reader.ts";

/**
 * Checks the signature, then every member against the signed manifest, reading the bundle once;
 * a migration bundle or a slot image alike.
 * Broken structure or signature throws; corrupt, missing or unexpected members are reported
 * (`assertBundleIntact` turns such a report into an error).
 */
export async function verifyBundle(path: string, options: BundleOptions = {}): Promise<BundleReport> {
  const tar = readTar(path);
  try {
    const head = await readSignedHead<AnyManifest>(path, tar, options, parseAnyManifestBytes);
    const checklist = new MemberChecklist(head.manifest);
    const members: MemberCheck[] = [];
    const unexpected: UnexpectedMember[] = [];
    for await (const member of head.rest) {
      const reason = checklist.whyUnexpected(member);
      if (reason) {
        unexpected.push({ file: member.name, type: member.type, reason });
        continue;
      }
      const ref = checklist.expectedRef(member);
      members.push(checklist.check(ref, await digestMember(member, options.progress?.(`verifying ${member.name}`))));
    }
    const { name, release } = head.manifest.product;
    const report = { bundle: path, product: { name, release }, signature: head.signature, members, missing: checklist.missing(), unexpected, warnings: head.warnings };
    return { ...report, ok: isBundleIntact(report) };
  } finally {
    await tar.return(undefined);
  }
}
