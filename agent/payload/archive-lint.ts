import { createZstdDecompress } from "node:zlib";
import { createHash } from "node:crypto";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { readBundleHead, type BundleOptions } from "../bundle/signed-manifest.ts";
import { META_LIMIT_BYTES, TarFormatProblem, type TarSource, tarEntries } from "../bundle/tar-entries.ts";
import type { TarEntryType } from "../bundle/tar-header.ts";
import { readTar } from "../bundle/tar-reader.ts";
import { ArchiveError, BundleError, PayloadError, ToolMissingError, VaError } from "../errors/errors.ts";
import type { Runner } from "../runner/runner.ts";
import type { Compression, Manifest } from "../manifest/manifest.ts";

/**
 * Lint of the rootfs archive, run by `stage` on the old system before anything is written: the
 * archive is decompressed (`xz -dc` / `zstd -dc`) into a streaming tar header reader, bodies are
 * skipped, and the first member that would land outside the new root is refused. A root without a
 * kernel is refused too: it would extract fine in the tiny system and never boot.
 *
 * Refused: names with `..` components, absolute names, members whose path goes through an earlier
 * symlink member that leaves the root (`lib -> /` then `lib/x`), relative symlinks that climb above
 * the root from their own directory, hard links to absolute, `..` or escaping paths, and device
 * nodes outside /dev. Absolute symlink targets (`etc/localtime -> /usr/share/zoneinfo/UTC`) are
 * normal in a root filesystem and allowed: they resolve inside the new root once it boots.
 */

export interface ArchiveMember {
  name: string;
  type: TarEntryType;
  linkName: string;
  size: number;
  /** Read only for the members the caller asks for (the payload's etc/fstab). */
  body?: Buffer;
}

export interface ArchiveFinding {
  member: string;
  reason: string;
}

export interface ArchiveLintResult {
  members: number;
  /** Kernel versions with both boot/vmlinuz-KVER and (usr/)lib/modules/KVER. */
  kernels: string[];
  /** The payload's etc/fstab, for stage's pre-flight (undefined: the archive has none). */
  fstab?: string;
  /** The payload's etc/passwd and etc/group: which listed accounts the new OS has, and whose uids and gids it uses. */
  passwd?: string;
  group?: string;
}

/** The small files the pre-flight reads out of the payload, in the one pass of the lint. */
const KEPT_FILES = { "etc/fstab": "fstab", "etc/passwd": "passwd", "etc/group": "group" } as const;
type KeptFile = (typeof KEPT_FILES)[keyof typeof KEPT_FILES];

const REBUILD = "Rebuild the payload from a clean root directory (`tar -C ROOT -cf - .`) with `build.ts bundle`, or get a fixed bundle from the vendor; nothing was changed.";
const MAX_SYMLINK_HOPS = 40;

/** The pure part: feed members in archive order, then `finish()`. Throws ArchiveError at the first unsafe member. */
export class ArchiveLinter {
  private readonly symlinks = new Map<string, string>();
  private readonly vmlinuz = new Set<string>();
  private readonly modules = new Set<string>();
  private count = 0;

  constructor(private readonly archive: string) {}

  add(member: ArchiveMember): void {
    this.count++;
    const finding = this.check(member);
    if (finding) this.refuse(finding, member);
  }

  finish(): ArchiveLintResult {
    const kernels = [...this.vmlinuz].filter((kver) => this.modules.has(kver)).sort();
    if (kernels.length === 0) {
      const found = this.vmlinuz.size > 0 ? ` (found boot/vmlinuz-${[...this.vmlinuz].join(", boot/vmlinuz-")} but no matching modules directory)` : "";
      throw new ArchiveError(
        `payload ${this.archive} holds no kernel: no boot/vmlinuz-KVER with a matching lib/modules/KVER or usr/lib/modules/KVER${found}; the new system would never boot`,
        "Install the kernel package in the root the payload is made from, then rebuild the bundle with `build.ts bundle`; nothing was changed.",
        { archive: this.archive, member: null, kernelsFound: [...this.vmlinuz], modulesFound: [...this.modules] },
      );
    }
    return { members: this.count, kernels };
  }

  private check(member: ArchiveMember): ArchiveFinding | undefined {
    const raw = member.name;
    if (raw.startsWith("/")) return { member: raw, reason: "its name is absolute" };
    const parts = components(raw);
    if (parts.includes("..")) return { member: raw, reason: "its name has a `..` component" };
    if (parts.length === 0) return undefined; // "./", the root directory itself
    const dir = this.resolveDir(parts.slice(0, -1), raw);
    if ("escape" in dir) return dir.escape;
    const path = [...dir.path, parts[parts.length - 1]!];
    const where = path.join("/");
    switch (member.type) {
      case "symlink":
        return this.checkSymlink(member, dir.path, where);
      case "hardlink":
        return this.checkHardlink(member);
      case "character-device":
      case "block-device":
        if (path[0] !== "dev") return { member: raw, reason: `it is a ${member.type.replace("-", " ")} outside /dev` };
        break;
    }
    this.noteKernel(path);
    return undefined;
  }

  private checkSymlink(member: ArchiveMember, dir: string[], where: string): ArchiveFinding | undefined {
    const target = member.linkName;
    if (target === "") return { member: member.name, reason: "it is a symlink without a target" };
    if (!target.startsWith("/")) {
      const depth = climb(dir, target);
      if (depth < 0) return { member: member.name, reason: `it is a symlink to ${target}, which leaves the root from ${dir.join("/") || "/"}` };
    }
    this.symlinks.set(where, target);
    this.noteKernel(where.split("/"));
    return undefined;
  }

  private checkHardlink(member: ArchiveMember): ArchiveFinding | undefined {
    const target = member.linkName;
    const what = `it is a hard link to ${target || "(nothing)"}`;
    if (target === "" || target.startsWith("/")) return { member: member.name, reason: `${what}, an absolute path outside the archive` };
    const parts = components(target);
    if (parts.includes("..")) return { member: member.name, reason: `${what}, which has a \`..\` component` };
    const dir = this.resolveDir(parts.slice(0, -1), target);
    if ("escape" in dir) return { member: member.name, reason: `${what}, whose path ${dir.escape.reason.replace(/^its path /, "")}` };
    this.noteKernel([...dir.path, parts[parts.length - 1]!]);
    return undefined;
  }

  /** Follows earlier symlink members the way extraction would; absolute targets leave the new root. */
  private resolveDir(dirParts: string[], name: string): { path: string[] } | { escape: ArchiveFinding } {
    const queue = [...dirParts];
    const path: string[] = [];
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (path.length === 0) return { escape: { member: name, reason: "its path climbs above the root through a symlink" } };
        path.pop();
        continue;
      }
      path.push(part);
      const link = path.join("/");
      const target = this.symlinks.get(link);
      if (target === undefined) continue;
      if (++hops > MAX_SYMLINK_HOPS) return { escape: { member: name, reason: `its path loops through symlinks (at ${link})` } };
      if (target.startsWith("/")) {
        return { escape: { member: name, reason: `its path goes through the symlink ${link} -> ${target}, outside the new root while extracting` } };
      }
      path.pop();
      queue.unshift(...target.split("/"));
    }
    return { path };
  }

  private noteKernel(path: string[]): void {
    if (path.length === 2 && path[0] === "boot" && path[1]!.startsWith("vmlinuz-")) this.vmlinuz.add(path[1]!.slice("vmlinuz-".length));
    const at = path[0] === "usr" ? 1 : 0;
    if (path[at] === "lib" && path[at + 1] === "modules" && path.length > at + 2) this.modules.add(path[at + 2]!);
  }

  private refuse(finding: ArchiveFinding, member: ArchiveMember): never {
    throw new ArchiveError(
      `payload ${this.archive} refused: member ${JSON.stringify(finding.member)} is unsafe: ${finding.reason}`,
      `The archive would write outside the new root: ${REBUILD}`,
      { archive: this.archive, member: finding.member, type: member.type, linkName: member.linkName, reason: finding.reason },
    );
  }
}

/** Name components without "." and empty ones: "./usr//lib/" → ["usr", "lib"]. */
function components(name: string): string[] {
  return name.split("/").filter((part) => part !== "" && part !== ".");
}

/** Depth reached by following a relative target from dir, lexically; negative means above the root. */
function climb(dir: string[], target: string): number {
  let depth = dir.length;
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    depth += part === ".." ? -1 : 1;
    if (depth < 0) return depth;
  }
  return depth;
}

/** Pulls exact byte counts out of a chunked stream (the decompressor's stdout). */
class StreamReader implements TarSource {
  position = 0;
  private buffered: Buffer[] = [];
  private length = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Returns fewer bytes only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.length < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else {
        this.buffered.push(next.value);
        this.length += next.value.length;
      }
    }
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    this.position += out.length;
    return out;
  }

  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const chunk = await this.read(Math.min(left, 4 * 1024 * 1024));
      if (chunk.length === 0) break;
      left -= chunk.length;
    }
    return n - left;
  }
}

/**
 * Members of a tar stream in order, as GNU tar extracts them (tar-entries.ts); bodies skipped, never
 * held, except small regular files `keepBody` asks for (the payload's /etc/fstab).
 */
export async function* tarHeaders(stream: AsyncIterable<Buffer>, archive: string, keepBody: (member: ArchiveMember) => boolean = () => false): AsyncGenerator<ArchiveMember> {
  const reader = new StreamReader(stream[Symbol.asyncIterator]());
  try {
    for await (const entry of tarEntries(reader, "optional")) {
      const member: ArchiveMember = { name: entry.name, type: entry.type, linkName: entry.linkName, size: entry.size };
      if (entry.sparse || entry.dataBytes > META_LIMIT_BYTES || !keepBody(member)) {
        yield member;
        continue;
      }
      const body = await reader.read(entry.dataBytes);
      if (body.length < entry.dataBytes) throw notTar(archive, `member ${entry.name} is cut off`);
      yield { ...member, body };
    }
  } catch (error) {
    throw error instanceof TarFormatProblem ? notTar(archive, `${error.message} of the decompressed stream`) : error;
  }
}

function notTar(archive: string, detail: string): ArchiveError {
  return new ArchiveError(`payload ${archive} is not a readable tar archive: ${detail}`, REBUILD, { archive, member: null });
}

/** What reads the compressed payload: zstd in-process (CentOS 7 has no zstd tool), xz by `xz -dc`. */
interface Decompressor {
  name: string;
  input: Writable;
  output: AsyncIterable<Buffer>;
  /** undefined when the stream decompressed cleanly, else what went wrong. */
  finished: Promise<string | undefined>;
  stop(): void;
}

export const XZ_COMMAND = ["xz", "-dc"] as const;

/** This system cannot run `xz -dc` (exit 8); `stage` defers the check to the tiny system instead (archive-check.ts). */
export class NoXzError extends VaError {
  constructor(archive: string) {
    super(
      "toolMissing",
      `cannot run \`${XZ_COMMAND.join(" ")}\` to check the payload ${archive}: this system has no xz`,
      "Install xz (`yum install xz` on CentOS 7, `apt install xz-utils` on Debian) if the system can, or rebuild the bundle with a zstd payload (checked in-process); then stage again. Nothing was changed.",
      { tool: XZ_COMMAND[0] },
    );
  }
}

async function startDecompressor(run: Runner, compression: Compression): Promise<Decompressor> {
  if (compression === "zstd") {
    const z = createZstdDecompress();
    z.on("error", () => {}); // reported through `finished`
    const finished = new Promise<string | undefined>((resolve) => {
      z.once("error", (error) => resolve(`zstd: ${error.message}`));
      z.once("end", () => resolve(undefined));
      z.once("close", () => resolve("stopped"));
    });
    return { name: "zstd (in-process)", input: z, output: z, finished, stop: () => z.destroy() };
  }
  const xz = await run.filter(XZ_COMMAND);
  const finished = xz.finished.then((result) => (result.status === 0 ? undefined : `exit status ${result.status}: ${result.stderr.trim().split("\n").slice(-3).join(" ")}`));
  return { name: XZ_COMMAND.join(" "), input: xz.input, output: xz.output, finished, stop: () => xz.stop() };
}

/**
 * Lints a compressed archive streamed from `source` (chunks may be reused by the producer: they are
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
      // a later member of the same name replaces the earlier one when extracted: the last one counts
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

function keptFileOf(member: ArchiveMember): KeptFile | undefined {
  return member.type === "file" ? KEPT_FILES[components(member.name).join("/") as keyof typeof KEPT_FILES] : undefined;
}

async function drain(output: AsyncIterator<Buffer>): Promise<void> {
  try {
    while (!(await output.next()).done) {
      // zero padding after the end-of-archive marker
    }
  } catch {
    // the decompressor failed: `finished` says how
  }
}

async function feed(source: AsyncIterable<Uint8Array>, stdin: Writable, onChunk?: (chunk: Uint8Array) => void): Promise<void> {
  let open = true;
  const closed = new Promise<void>((resolve) => {
    const stop = () => ((open = false), resolve());
    stdin.once("close", stop);
    stdin.once("error", stop);
  });
  try {
    for await (const chunk of source) {
      onChunk?.(chunk);
      if (!open) continue;
      if (!stdin.write(Buffer.from(chunk))) await Promise.race([once(stdin, "drain").catch(() => undefined), closed]);
    }
  } finally {
    // also when the source fails (a truncated bundle): the decompressor then sees a short stream and stops
    if (open) stdin.end();
  }
}

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
      const sha256 = hash.digest("hex");
      if (sha256 !== rootfs.sha256 || bytes !== rootfs.bytes) {
        throw new PayloadError(
          `bundle member ${rootfs.file} is corrupt: ${bytes} bytes with SHA-256 ${sha256}, the manifest says ${rootfs.bytes} bytes with ${rootfs.sha256}`,
          "Download the bundle again and verify it (`va-agent verify BUNDLE`); nothing was changed.",
          { member: rootfs.file, expected: rootfs.sha256, actual: sha256 },
        );
      }
      if (problem instanceof NoXzError) return { manifest: head.manifest, archiveCheck: "deferred" };
      if (problem !== undefined) throw problem;
      return { manifest: head.manifest, archiveCheck: "at-stage", lint: lint! };
    }
    throw new PayloadError(`bundle ${bundle} has no member ${rootfs.file} (payload.rootfs)`, "Download the bundle again; nothing was changed.", { member: rootfs.file });
  } finally {
    await tar.return(undefined);
  }
}
