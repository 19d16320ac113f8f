// A small ELF64 reader and a shared-library resolver that works INSIDE a sysroot.
//
// We never run `ldd`: it would execute the build host's loader and report the host's libraries.
// Instead we read PT_INTERP and PT_DYNAMIC (DT_NEEDED names in the DT_STRTAB string table) from
// the file itself and look the names up in the sysroot's library directories, following
// symlinks inside the sysroot (absolute link targets are relative to the sysroot).

import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { posix } from "node:path";

export class ElfError extends Error {
  override name = "ElfError";
}

export class MissingInSysrootError extends Error {
  override name = "MissingInSysrootError";
  constructor(
    readonly what: string,
    readonly sysroot: string,
    readonly neededBy?: string,
  ) {
    super(`${what} not found in sysroot ${sysroot}${neededBy ? ` (needed by ${neededBy})` : ""}`);
  }
}

export interface ElfDeps {
  /** PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2; undefined for static binaries and libraries. */
  interp?: string;
  /** DT_NEEDED entries in file order. */
  needed: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

function cString(bytes: Uint8Array, offset: number): string {
  let end = offset;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(offset, end));
}

/** Parses PT_INTERP and DT_NEEDED of a little-endian ELF64 file. */
export function readElfDeps(bytes: Uint8Array, label = "<buffer>"): ElfDeps {
  if (!isElf(bytes)) throw new ElfError(`${label}: not an ELF file`);
  if (bytes[4] !== 2) throw new ElfError(`${label}: not ELF64 (EI_CLASS=${bytes[4]})`);
  if (bytes[5] !== 1) throw new ElfError(`${label}: not little-endian (EI_DATA=${bytes[5]})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = Number(view.getBigUint64(0x20, true));
  const phentsize = view.getUint16(0x36, true);
  const phnum = view.getUint16(0x38, true);
  if (phoff + phentsize * phnum > bytes.length) throw new ElfError(`${label}: program headers out of range`);

  const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
  let dynamic: { offset: number; size: number } | undefined;
  let interp: string | undefined;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const type = view.getUint32(ph, true);
    const offset = view.getBigUint64(ph + 0x08, true);
    const vaddr = view.getBigUint64(ph + 0x10, true);
    const filesz = view.getBigUint64(ph + 0x20, true);
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
    else if (type === PT_INTERP) interp = cString(bytes, Number(offset));
  }
  if (!dynamic) return { interp, needed: [] }; // static executable

  const neededOffsets: bigint[] = [];
  let strtabAddr: bigint | undefined;
  for (let p = dynamic.offset; p + 16 <= dynamic.offset + dynamic.size; p += 16) {
    const tag = view.getBigInt64(p, true);
    const val = view.getBigUint64(p + 8, true);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) neededOffsets.push(val);
    else if (tag === DT_STRTAB) strtabAddr = val;
  }
  if (neededOffsets.length === 0) return { interp, needed: [] };
  if (strtabAddr === undefined) throw new ElfError(`${label}: DT_NEEDED without DT_STRTAB`);
  // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD segments.
  const seg = loads.find((l) => strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.filesz);
  if (!seg) throw new ElfError(`${label}: DT_STRTAB address 0x${strtabAddr.toString(16)} is in no PT_LOAD segment`);
  const strtab = Number(strtabAddr - seg.vaddr + seg.offset);
  return { interp, needed: neededOffsets.map((o) => cString(bytes, strtab + Number(o))) };
}

export function readElfDepsFile(path: string): ElfDeps {
  return readElfDeps(new Uint8Array(readFileSync(path)), path);
}

/** Library directories searched inside the sysroot, in order. */
export const SYSROOT_LIB_DIRS = [
  "/usr/lib/x86_64-linux-gnu",
  "/lib/x86_64-linux-gnu",
  "/usr/lib64",
  "/lib64",
  "/usr/lib",
  "/lib",
];

/**
 * Resolves `inside` (an absolute path inside the sysroot) to the real file it names, following
 * symlinks in every component without ever leaving the sysroot. Returns the resolved absolute
 * inside path, or undefined when something on the way does not exist.
 */
export function resolveInSysroot(sysroot: string, inside: string): string | undefined {
  let pending = inside.split("/").filter((c) => c !== "" && c !== ".");
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const comp = pending.shift()!;
    if (comp === "..") {
      done.pop(); // ".." at the sysroot's top stays at the top, like at "/"
      continue;
    }
    const host = posix.join(sysroot, ...done, comp);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) throw new ElfError(`too many symlinks resolving ${inside} in ${sysroot}`);
      const target = readlinkSync(host);
      const parts = target.split("/").filter((c) => c !== "" && c !== ".");
      if (target.startsWith("/")) done.length = 0;
      pending = [...parts, ...pending];
    } else {
      if (pending.length > 0 && !st.isDirectory()) return undefined;
      done.push(comp);
    }
  }
  return "/" + done.join("/");
}

export interface ResolvedFile {
  /** The path the loader will look for (inside the sysroot), e.g. /usr/lib/x86_64-linux-gnu/libc.so.6 */
  path: string;
  /** The real file on the build host, after following symlinks inside the sysroot. */
  source: string;
}

/** Finds a library by soname in the sysroot's library dirs. */
export function findLibrary(sysroot: string, soname: string): ResolvedFile | undefined {
  for (const dir of SYSROOT_LIB_DIRS) {
    const path = posix.join(dir, soname);
    const real = resolveInSysroot(sysroot, path);
    if (real && lstatSync(posix.join(sysroot, real)).isFile()) return { path, source: posix.join(sysroot, real) };
  }
  return undefined;
}

/**
 * The closure of shared libraries (and program interpreters) that `elfFiles` (host paths; they may lie
 * outside the sysroot, like the compiled agent) need, all resolved inside `sysroot`.
 * Throws MissingInSysrootError naming the library, the sysroot and who needed it.
 */
export function resolveLibraryClosure(sysroot: string, elfFiles: string[]): ResolvedFile[] {
  const found = new Map<string, ResolvedFile>(); // key: path inside sysroot
  const seenSonames = new Set<string>();
  const queue = [...elfFiles];
  while (queue.length > 0) {
    const file = queue.shift()!;
    const deps = readElfDepsFile(file);
    if (deps.interp && !found.has(deps.interp)) {
      const real = resolveInSysroot(sysroot, deps.interp);
      if (!real) throw new MissingInSysrootError(`program interpreter ${deps.interp}`, sysroot, file);
      const entry = { path: deps.interp, source: posix.join(sysroot, real) };
      found.set(entry.path, entry);
    }
    for (const soname of deps.needed) {
      if (seenSonames.has(soname)) continue;
      seenSonames.add(soname);
      const lib = soname.includes("/") ? resolveAbsolute(sysroot, soname) : findLibrary(sysroot, soname);
      if (!lib) throw new MissingInSysrootError(`shared library ${soname}`, sysroot, file);
      found.set(lib.path, lib);
      queue.push(lib.source);
    }
  }
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path));
}

function resolveAbsolute(sysroot: string, path: string): ResolvedFile | undefined {
  const real = resolveInSysroot(sysroot, path);
  return real ? { path, source: posix.join(sysroot, real) } : undefined;
}
