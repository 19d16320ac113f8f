// Assembles the tiny system's initramfs: the stock dracut image, NUL-padded to 512 bytes, followed
// by a zstd-compressed newc cpio ("overlay") whose files override the stock ones when the kernel
// unpacks the concatenation.
//
// Everything in the overlay lives under usr/… (the stock image has bin, sbin, lib, lib64 as symlinks
// into usr/; a directory entry named "lib" would replace such a symlink and break the image).

import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, posix } from "node:path";
import { DEFAULT_KEYRING_DIR, loadKeyring } from "../agent/bundle/keyring.ts";
import { TOOL_ALIASES } from "../agent/preflight/tiny-tools.ts";
import { formatArgv } from "../agent/runner/argv-text.ts";
import { readCpio, writeCpio, type CpioEntry, type CpioListing } from "./cpio.ts";
import { isElf, MissingInSysrootError, readElfDeps, resolveInSysroot, resolveLibraryClosure, type ResolvedFile } from "./elf.ts";
import type { Tool } from "./tools.ts";

export const AGENT_PATH = "usr/bin/va-agent";
export const UNIT_PATH = "usr/lib/systemd/system/dracut-emergency.service";
/** The tiny system verifies the staged manifest against these keys: the agent's default keyring path. */
export const KEYRING_PATH = DEFAULT_KEYRING_DIR.replace(/^\/+/, "");
const TOOL_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export interface OverlayInput {
  sysroot: string;
  /** Host path of the compiled agent. */
  agent: string;
  /** Host path of units/dracut-emergency.service. */
  unit: string;
  /** Host path of initramfs-overlay/. */
  overlayDir: string;
  /** Host directory of the vendor's public keys (`*.pub`, Ed25519), the keyring `stage` trusts too. */
  keyring: string;
  tools: readonly Tool[];
  /** Paths that are symlinks in the stock image (relative, no leading "/"): never emit a directory there. */
  stockSymlinks?: ReadonlySet<string>;
}

export interface OverlayContents {
  entries: CpioEntry[];
  /** Libraries (and interpreters) taken from the sysroot, as the loader sees them. */
  libraries: ResolvedFile[];
  /** Libraries the agent itself needs (DT_NEEDED of the agent binary). */
  agentNeeds: string[];
}

/** Maps an absolute path to its place in a usr-merged tree: /lib64/x -> usr/lib64/x. */
export function usrPath(abs: string): string {
  const rel = abs.replace(/^\/+/, "");
  return /^(bin|sbin|lib|lib64|lib32|libx32)(\/|$)/.test(rel) ? `usr/${rel}` : rel;
}

class EntrySet {
  readonly map = new Map<string, CpioEntry>();
  add(entry: CpioEntry): void {
    const prev = this.map.get(entry.path);
    if (prev && JSON.stringify({ ...prev, data: undefined }) !== JSON.stringify({ ...entry, data: undefined })) {
      throw new Error(`overlay: ${entry.path} added twice with different contents`);
    }
    this.map.set(entry.path, entry);
  }
  file(path: string, source: string, mode = statSync(source).mode & 0o7777): void {
    this.add({ type: "file", path, mode, data: new Uint8Array(readFileSync(source)) });
  }
}

function findTool(sysroot: string, name: string): { dir: string; host: string } {
  for (const dir of TOOL_DIRS) {
    const realDir = resolveInSysroot(sysroot, dir);
    if (!realDir) continue;
    const host = posix.join(sysroot, realDir, name);
    try {
      lstatSync(host);
      return { dir, host };
    } catch {
      // not in this directory
    }
  }
  throw new MissingInSysrootError(`tool ${name}`, sysroot);
}

function hasTool(sysroot: string, name: string): boolean {
  try {
    findTool(sysroot, name);
    return true;
  } catch {
    return false;
  }
}

/** Adds a tool (following a same-directory symlink such as mkfs.ext4 -> mke2fs); returns ELF files to resolve. */
function addTool(set: EntrySet, sysroot: string, tool: Tool, toolNames: Set<string>): string[] {
  const name = (TOOL_ALIASES[tool.name] ?? [tool.name]).find((candidate) => hasTool(sysroot, candidate));
  if (name && name !== tool.name) return addTool(set, sysroot, { ...tool, name }, toolNames);
  for (const dir of tool.dirs ?? []) {
    const real = resolveInSysroot(sysroot, dir);
    if (!real) throw new MissingInSysrootError(`directory ${dir} (for ${tool.name})`, sysroot);
    addTree(set, posix.join(sysroot, real), usrPath(dir));
  }
  const { dir, host } = findTool(sysroot, tool.name);
  const placed = usrPath(posix.join(dir, tool.name));
  const st = lstatSync(host);
  if (st.isSymbolicLink()) {
    const target = readlinkSync(host);
    if (!target.includes("/")) {
      set.add({ type: "symlink", path: placed, target });
      return addTool(set, sysroot, { name: target, usedBy: `${tool.name} links to it` }, toolNames);
    }
  }
  const real = resolveInSysroot(sysroot, posix.join(dir, tool.name));
  if (!real) throw new MissingInSysrootError(`tool ${tool.name} (dangling symlink)`, sysroot);
  const source = posix.join(sysroot, real);
  set.file(placed, source);
  for (const extra of tool.files ?? []) {
    const r = resolveInSysroot(sysroot, extra);
    if (!r) throw new MissingInSysrootError(`file ${extra} (for ${tool.name})`, sysroot);
    set.file(usrPath(extra), posix.join(sysroot, r));
  }
  const head = new Uint8Array(readFileSync(source).subarray(0, 256));
  if (isElf(head)) return [source];
  const firstLine = new TextDecoder().decode(head).split("\n")[0]!;
  if (firstLine.startsWith("#!")) {
    const interp = posix.basename(firstLine.slice(2).trim().split(/\s+/)[0]!);
    if (interp !== "sh" && !toolNames.has(interp)) {
      throw new Error(`overlay: ${tool.name} is a script run by ${interp}, which is neither sh nor in build/tools.ts`);
    }
    return [];
  }
  throw new Error(`overlay: ${source} is neither an ELF file nor a script`);
}

function addTree(set: EntrySet, hostDir: string, rel: string): void {
  for (const name of readdirSync(hostDir).sort()) {
    const host = posix.join(hostDir, name);
    const path = rel ? `${rel}/${name}` : name;
    const st = lstatSync(host);
    if (st.isSymbolicLink()) set.add({ type: "symlink", path, target: readlinkSync(host) });
    else if (st.isDirectory()) {
      set.add({ type: "dir", path, mode: st.mode & 0o7777 });
      addTree(set, host, path);
    } else if (st.isFile()) set.file(path, host);
    else throw new Error(`overlay: ${host} is not a file, directory or symlink`);
  }
}

/** Adds a directory entry for every missing parent, except where the stock image has a symlink. */
function addParents(set: EntrySet, stockSymlinks: ReadonlySet<string>): void {
  for (const path of [...set.map.keys()]) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!set.map.has(dir) && !stockSymlinks.has(dir)) set.add({ type: "dir", path: dir, mode: 0o755 });
    }
  }
  for (const path of stockSymlinks) {
    const e = set.map.get(path);
    if (e?.type === "dir") throw new Error(`overlay: ${path} is a symlink in the stock image; put the files under usr/`);
  }
}

export function collectOverlay(input: OverlayInput): OverlayContents {
  const set = new EntrySet();
  set.file(AGENT_PATH, input.agent, 0o755);
  set.file(UNIT_PATH, input.unit, 0o644);
  addTree(set, input.overlayDir, "");
  // loadKeyring refuses an empty keyring and any key that is not Ed25519, as the agent would.
  for (const key of loadKeyring(input.keyring).keys) set.file(`${KEYRING_PATH}/${basename(key.file)}`, key.file, 0o644);

  const toolNames = new Set(input.tools.map((t) => t.name));
  const elfs = isElf(new Uint8Array(readFileSync(input.agent).subarray(0, 4))) ? [input.agent] : [];
  for (const tool of input.tools) elfs.push(...addTool(set, input.sysroot, tool, toolNames));

  const libraries = resolveLibraryClosure(input.sysroot, elfs);
  for (const lib of libraries) set.file(usrPath(lib.path), lib.source);
  addParents(set, input.stockSymlinks ?? new Set());

  const { needed } = readAgentNeeds(input.agent);
  return { entries: [...set.map.values()], libraries, agentNeeds: needed };
}

function readAgentNeeds(agent: string): { needed: string[] } {
  const bytes = new Uint8Array(readFileSync(agent));
  return { needed: isElf(bytes) ? readElfDeps(bytes, agent).needed : [] };
}

export function compressZstd(data: Uint8Array, level: number): Uint8Array {
  const args = ["zstd", "-q", "-c", "-T0", `-${level}`];
  if (level > 19) args.splice(1, 0, "--ultra");
  const p = Bun.spawnSync(args, { stdin: data, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${formatArgv(args)} failed (${p.exitCode}): ${p.stderr.toString().trim()}`);
  return new Uint8Array(p.stdout);
}

export const SECTOR = 512;

/** stock + NULs up to a multiple of 512 + overlay. */
export function concatInitramfs(stock: Uint8Array, overlay: Uint8Array): Uint8Array {
  const padded = Math.ceil(stock.length / SECTOR) * SECTOR;
  const out = new Uint8Array(padded + overlay.length);
  out.set(stock, 0);
  out.set(overlay, padded);
  return out;
}

const DECOMPRESSORS: { magic: number[]; argv: string[] }[] = [
  { magic: [0x28, 0xb5, 0x2f, 0xfd], argv: ["zstd", "-dcq"] },
  { magic: [0x1f, 0x8b], argv: ["gzip", "-dc"] },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a], argv: ["xz", "-dc"] },
];

/**
 * Lists an initramfs made of uncompressed cpio archives optionally followed by ONE compressed part
 * (how dracut writes images: early microcode cpio, then the compressed main archive).
 */
export function listInitramfs(bytes: Uint8Array): CpioListing[] {
  const all: CpioListing[] = [];
  let off = 0;
  const parseArchives = (buf: Uint8Array, from: number): number => {
    let o = from;
    for (;;) {
      while (o < buf.length && buf[o] === 0) o++;
      if (o + 6 > buf.length) return o;
      if (new TextDecoder().decode(buf.subarray(o, o + 5)) !== "07070") return o;
      const { entries, end } = readCpio(buf, o);
      all.push(...entries);
      o = end;
    }
  };
  off = parseArchives(bytes, 0);
  if (off >= bytes.length) return all;
  const d = DECOMPRESSORS.find((c) => c.magic.every((m, i) => bytes[off + i] === m));
  if (!d) throw new Error(`initramfs: unknown data at offset ${off}`);
  const p = Bun.spawnSync(d.argv, { stdin: bytes.subarray(off), stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${formatArgv(d.argv)} failed: ${p.stderr.toString().trim()}`);
  parseArchives(new Uint8Array(p.stdout), 0);
  return all;
}

export function symlinksOf(listing: CpioListing[]): Set<string> {
  return new Set(listing.filter((e) => (e.mode & 0o170000) === 0o120000).map((e) => e.path.replace(/^\.?\//, "")));
}

/** Fails when the sysroot's kernel config says the kernel cannot unpack a zstd initramfs. */
export function checkKernelZstd(sysroot: string): string {
  let configs: string[] = [];
  try {
    configs = readdirSync(posix.join(sysroot, "boot")).filter((n) => n.startsWith("config-"));
  } catch {
    // no /boot in the sysroot
  }
  if (configs.length === 0) return "no boot/config-* in the sysroot: could not verify CONFIG_RD_ZSTD";
  for (const c of configs) {
    const text = readFileSync(posix.join(sysroot, "boot", c), "utf8");
    if (!/^CONFIG_RD_ZSTD=y$/m.test(text)) throw new Error(`kernel ${c} in ${sysroot} lacks CONFIG_RD_ZSTD=y`);
  }
  return `CONFIG_RD_ZSTD=y in ${configs.join(", ")}`;
}

export interface InitramfsOptions extends Omit<OverlayInput, "stockSymlinks"> {
  stock: string;
  out: string;
  zstdLevel: number;
}

export interface InitramfsSummary {
  stockBytes: number;
  /** Offset of the overlay in the output: the stock size rounded up to 512. */
  overlayOffset: number;
  cpioBytes: number;
  overlayBytes: number;
  outBytes: number;
  files: number;
  contents: OverlayContents;
}

/** The whole initramfs build: list the stock image, collect the overlay, write OUT. */
export function buildInitramfsImage(opts: InitramfsOptions): InitramfsSummary {
  const stock = new Uint8Array(readFileSync(opts.stock));
  const contents = collectOverlay({ ...opts, stockSymlinks: symlinksOf(listInitramfs(stock)) });
  const cpio = writeCpio(contents.entries);
  const overlay = compressZstd(cpio, opts.zstdLevel);
  const image = concatInitramfs(stock, overlay);
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, image);
  return {
    stockBytes: stock.length,
    overlayOffset: image.length - overlay.length,
    cpioBytes: cpio.length,
    overlayBytes: overlay.length,
    outBytes: image.length,
    files: contents.entries.filter((e) => e.type !== "dir").length,
    contents,
  };
}
