import { createHash } from "node:crypto";
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
