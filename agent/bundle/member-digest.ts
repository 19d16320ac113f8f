import { createHash } from "node:crypto";
import { PayloadError } from "../errors/errors.ts";
import type { Progress } from "../log/logger.ts";
import type { TarMember } from "./tar-reader.ts";

export interface MemberDigest {
  bytes: number;
  sha256: string;
}

/** Hashes a member as it streams past; `onChunk` (extract) sees the same chunks, in order. */
export async function digestMember(member: TarMember, progress?: Progress, onChunk?: (chunk: Buffer) => Promise<void>): Promise<MemberDigest> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of member.body()) {
    hash.update(chunk);
    if (onChunk) await onChunk(chunk);
    bytes += chunk.length;
    progress?.update(bytes, member.size);
  }
  progress?.finish();
  return { bytes, sha256: hash.digest("hex") };
}

/** The archive member read out of a bundle is what the signed manifest says, byte count and SHA-256; `hint` says what to do where the caller stands. */
export function checkMemberDigest(ref: { file: string; bytes: number; sha256: string }, digest: MemberDigest, hint: string): void {
  if (digest.sha256 === ref.sha256 && digest.bytes === ref.bytes) return;
  throw new PayloadError(
    `bundle member ${ref.file} is corrupt: ${digest.bytes} bytes with SHA-256 ${digest.sha256}, the manifest says ${ref.bytes} bytes with ${ref.sha256}`,
    hint,
    { member: ref.file, expected: ref.sha256, actual: digest.sha256 },
  );
}
