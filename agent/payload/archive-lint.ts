import { ArchiveError, ToolMissingError } from "../errors/errors.ts";
import type { Compression } from "../manifest/manifest.ts";
import type { Runner } from "../runner/runner.ts";
import { type ArchiveLintResult, ArchiveLinter, type ArchiveMember, components, REBUILD } from "./archive-linter.ts";
import { type Decompressor, drain, feed, NoXzError, startDecompressor } from "./decompressor.ts";
import { tarHeaders } from "./tar-stream.ts";

/**
 * The payload lint as `stage` and check-payload-archive run it: the stream decompressed
 * (decompressor.ts, xz through the runner), its headers read (tar-stream.ts), each member judged
 * (archive-linter.ts). Lints a compressed archive streamed from `source` (chunks may be reused by the producer: they are
 * copied). Every byte of the source is read, also after a refusal, so the caller's digest is whole.
 */
export async function lintCompressedArchive(run: Runner, source: AsyncIterable<Uint8Array>, compression: Compression, archive: string, onChunk?: (chunk: Uint8Array) => void): Promise<ArchiveLintResult> {
  let decompressor: Decompressor;
  try {
    decompressor = await startDecompressor(run, compression);
  } catch (error) {
    for await (const chunk of source) onChunk?.(chunk);
    if (!(error instanceof ToolMissingError)) throw error;
    throw new NoXzError(archive);
  }
  const feeding = feed(source, decompressor.input, onChunk).then(
    () => undefined,
    (error: unknown) => error ?? new Error("reading the payload failed"),
  );
  const linter = new ArchiveLinter(archive);
  const kept: Partial<Record<KeptFile, string>> = {};
  // one iterator for the headers and the drain after them (a second one would never see the end)
  const output = decompressor.output[Symbol.asyncIterator]();
  let failure: unknown;
  try {
    for await (const member of tarHeaders({ [Symbol.asyncIterator]: () => output }, archive, (m) => keptFileOf(m) !== undefined)) {
      linter.add(member);
      const file = keptFileOf(member);
      if (member.body && file) kept[file] = member.body.toString("utf8");
    }
  } catch (error) {
    failure = error;
  }
  const refused = failure instanceof ArchiveError && Boolean(failure.details.member);
  // A refusal needs no more of the archive; otherwise let the decompressor finish, to learn whether the stream itself is bad.
  if (refused) decompressor.stop();
  else await drain(output);
  const sourceError = await feeding;
  const problem = await decompressor.finished;
  if (sourceError !== undefined) throw sourceError;
  if (!refused && problem !== undefined) {
    throw new ArchiveError(`payload ${archive} cannot be decompressed: ${decompressor.name}: ${problem}`, REBUILD, { archive, member: null });
  }
  if (failure !== undefined) throw failure;
  return { ...linter.finish(), ...kept };
}

/** The small files the pre-flight reads out of the payload, in the one pass of the lint. */
const KEPT_FILES = { "etc/fstab": "fstab", "etc/passwd": "passwd", "etc/group": "group" } as const;
type KeptFile = (typeof KEPT_FILES)[keyof typeof KEPT_FILES];

function keptFileOf(member: ArchiveMember): KeptFile | undefined {
  return member.type === "file" ? KEPT_FILES[components(member.name).join("/") as keyof typeof KEPT_FILES] : undefined;
}
