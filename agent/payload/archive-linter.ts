import type { TarEntryType } from "../bundle/tar-header.ts";
import { ArchiveError } from "../errors/errors.ts";

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
  /** Read only for the members the caller asks for (the payload's etc/fstab, etc/passwd, etc/group). */
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

/** The hint of every refusal of the payload archive. */
export const REBUILD = "Rebuild the payload from a clean root directory (`tar -C ROOT -cf - .`) with `build.ts bundle`, or get a fixed bundle from the vendor; nothing was changed.";
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
export function components(name: string): string[] {
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

