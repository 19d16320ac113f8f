import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { BundleError } from "../errors/errors.ts";
import type { Progress } from "../log/logger.ts";
import { digestMember, type MemberDigest } from "./member-digest.ts";
import { MemberChecklist } from "./member-checklist.ts";
import { MANIFEST_MEMBER, SIGNATURE_MEMBER, isPlainFileName } from "./member-name.ts";
import { assertBundleIntact, isBundleIntact, type BundleReport, type MemberCheck } from "./report.ts";
import { readBundleHead, type BundleHead, type BundleOptions } from "./signed-manifest.ts";
import { readTar, type TarMember } from "./tar-reader.ts";

/**
 * Writes every member of a verified bundle into destDir. The signature is checked before any byte is
 * written; members land in a hidden work directory inside destDir and are moved into place only
 * when all of them match the signed manifest, so a bad bundle leaves destDir as it was.
 */
export async function extractBundle(path: string, destDir: string, options: BundleOptions = {}): Promise<BundleReport> {
  mkdirSync(destDir, { recursive: true });
  const tar = readTar(path);
  let workDir: string | undefined;
  try {
    const head = await readBundleHead(path, tar, options);
    workDir = mkdtempSync(join(destDir, ".va-bundle-"));
    const checklist = new MemberChecklist(head.manifest);
    const members = await writeMembers(path, head.rest, checklist, workDir, options);
    const { name, release } = head.manifest.product;
    const report = { bundle: path, product: { name, release }, signature: head.signature, members, missing: checklist.missing(), unexpected: [], warnings: head.warnings };
    const final = { ...report, ok: isBundleIntact(report) };
    assertBundleIntact(final);
    writeHead(head, workDir);
    moveIntoPlace(workDir, destDir, head, members.map((m) => m.file));
    return final;
  } finally {
    await tar.return(undefined);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }
}

async function writeMembers(bundle: string, rest: AsyncIterable<TarMember>, checklist: MemberChecklist, workDir: string, options: BundleOptions): Promise<MemberCheck[]> {
  const members: MemberCheck[] = [];
  for await (const member of rest) {
    refuseUnsafe(bundle, member, checklist);
    const ref = checklist.expectedRef(member);
    const digest = await writeMember(member, join(workDir, member.name), options.progress?.(`extracting ${member.name}`));
    members.push(checklist.check(ref, digest));
  }
  return members;
}

function refuseUnsafe(bundle: string, member: TarMember, checklist: MemberChecklist): void {
  const reason = !isPlainFileName(member.name) ? "its name is not a plain file name (no /, .., or absolute paths)" : checklist.whyUnexpected(member);
  if (!reason) return;
  throw new BundleError(
    `bundle ${bundle} refused: member ${JSON.stringify(member.name)} is unsafe: ${reason}`,
    "The bundle was not made by `build.ts bundle`, or was tampered with: get it from the vendor again. Nothing was staged.",
    { bundle, member: member.name, type: member.type },
  );
}

async function writeMember(member: TarMember, destination: string, progress?: Progress): Promise<MemberDigest> {
  // Only the permission bits that make sense for a staged file: no setuid, no group/other write.
  const output = await open(destination, "wx", member.mode & 0o755);
  try {
    return await digestMember(member, progress, async (chunk) => {
      await output.write(chunk);
    });
  } finally {
    await output.close();
  }
}

function writeHead(head: BundleHead, workDir: string): void {
  writeFileSync(join(workDir, MANIFEST_MEMBER), head.manifestBytes, { mode: 0o644 });
  if (head.signatureBytes) writeFileSync(join(workDir, SIGNATURE_MEMBER), head.signatureBytes, { mode: 0o644 });
}

/** The manifest goes last: whoever finds a manifest.json in destDir finds the members it names. */
function moveIntoPlace(workDir: string, destDir: string, head: BundleHead, members: string[]): void {
  rmSync(join(destDir, MANIFEST_MEMBER), { force: true });
  const signature = head.signatureBytes ? [SIGNATURE_MEMBER] : [];
  for (const file of [...members, ...signature, MANIFEST_MEMBER]) renameSync(join(workDir, file), join(destDir, file));
}
