import { referencedFiles, type ManifestFileRef } from "./manifest-members.ts";
import type { MemberDigest } from "./member-digest.ts";
import { MANIFEST_MEMBER, SIGNATURE_MEMBER } from "./member-name.ts";
import type { MemberCheck, MissingMember } from "./report.ts";
import type { TarMember } from "./tar-reader.ts";

/** The members the signed manifest promises, ticked off as the bundle streams past. */
export class MemberChecklist {
  private readonly expected: Map<string, ManifestFileRef>;
  private readonly seen = new Set<string>();

  /** Any manifest kind: its file references are found where MEMBER_FIELDS says. */
  constructor(manifest: object) {
    this.expected = new Map(referencedFiles(manifest).map((ref) => [ref.file, ref]));
  }

  /** Why this member may not be used, or undefined when the manifest expects it. */
  whyUnexpected(member: TarMember): string | undefined {
    if (member.type !== "file") return `${member.type} member${member.linkName ? ` -> ${member.linkName}` : ""}, only regular files are allowed`;
    if (member.name === MANIFEST_MEMBER || member.name === SIGNATURE_MEMBER) return "a second copy of a reserved member";
    if (!this.expected.has(member.name)) return "not listed in the manifest";
    if (this.seen.has(member.name)) return "appears twice";
    return undefined;
  }

  expectedRef(member: TarMember): ManifestFileRef {
    this.seen.add(member.name);
    return this.expected.get(member.name)!;
  }

  check(ref: ManifestFileRef, digest: MemberDigest): MemberCheck {
    const sizeOk = ref.bytes === undefined || ref.bytes === digest.bytes;
    return { file: ref.file, role: ref.role, ...digest, expectedBytes: ref.bytes, expected: ref.sha256, ok: sizeOk && digest.sha256 === ref.sha256 };
  }

  missing(): MissingMember[] {
    return [...this.expected.values()].filter((ref) => !this.seen.has(ref.file)).map((ref) => ({ file: ref.file, role: ref.role }));
  }
}
