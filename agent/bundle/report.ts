import { BundleError, PayloadError } from "../errors/errors.ts";
import type { TarEntryType } from "./tar-header.ts";

export interface SignatureCheck {
  ok: boolean;
  keyId?: string;
  keyFile?: string;
  /** Accepted without a valid signature because --insecure was given. */
  insecure: boolean;
  problem?: string;
}

export interface MemberCheck {
  file: string;
  role: string;
  bytes: number;
  sha256: string;
  expectedBytes?: number;
  expected: string;
  ok: boolean;
}

export interface MissingMember {
  file: string;
  role: string;
}

export interface UnexpectedMember {
  file: string;
  type: TarEntryType;
  reason: string;
}

export interface BundleReport {
  bundle: string;
  product: { name: string; release: string };
  signature: SignatureCheck;
  members: MemberCheck[];
  missing: MissingMember[];
  unexpected: UnexpectedMember[];
  warnings: string[];
  ok: boolean;
}

export function isBundleIntact(report: Omit<BundleReport, "ok">): boolean {
  return report.members.every((m) => m.ok) && report.missing.length === 0 && report.unexpected.length === 0;
}

const REFETCH = "Download the bundle again and verify it (`va-agent verify BUNDLE`); nothing was changed.";

/** Corrupt or missing members are payload errors (exit 6); members the manifest does not list are bundle errors. */
export function assertBundleIntact(report: BundleReport): void {
  const corrupt = report.members.filter((m) => !m.ok);
  if (corrupt.length > 0 || report.missing.length > 0) {
    const problems = [...corrupt.map(describeCorrupt), ...report.missing.map((m) => `${m.file} (${m.role}) is missing from the bundle`)];
    throw new PayloadError(`bundle ${report.bundle} failed verification:\n  ${problems.join("\n  ")}`, REFETCH, {
      corrupt: corrupt.map((m) => m.file),
      missing: report.missing.map((m) => m.file),
    });
  }
  if (report.unexpected.length > 0) {
    const problems = report.unexpected.map((m) => `${m.file}: ${m.reason}`);
    throw new BundleError(`bundle ${report.bundle} holds members the signed manifest does not list:\n  ${problems.join("\n  ")}`, REFETCH, {
      unexpected: report.unexpected.map((m) => m.file),
    });
  }
}

function describeCorrupt(member: MemberCheck): string {
  if (member.expectedBytes !== undefined && member.bytes !== member.expectedBytes) {
    return `${member.file} has ${member.bytes} bytes, the manifest says ${member.expectedBytes}`;
  }
  return `${member.file} is corrupt: SHA-256 ${member.sha256}, the manifest says ${member.expected}`;
}
