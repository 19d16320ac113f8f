import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTar } from "../../agent/bundle/tar-reader.ts";
import { tarHeaders } from "../../agent/payload/tar-stream.ts";

/** One member as a listing shows it: what the extracting tar creates. */
export interface Listed {
  type: string;
  size: string;
  name: string;
  link: string;
}

export const GNU_TAR = Bun.which("tar") && /GNU tar/.test(Bun.spawnSync(["tar", "--version"]).stdout.toString()) ? "tar" : undefined;

const TYPE_BY_CHAR: Record<string, string> = { "-": "file", C: "file", h: "hardlink", l: "symlink", c: "character-device", b: "block-device", d: "directory", p: "fifo" };

/** `tar -tv` of GNU tar on this host: the reference. */
export function gnuListing(archive: Buffer): { status: number; members: Listed[]; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "va-gnu-"));
  try {
    const path = join(dir, "a.tar");
    writeFileSync(path, archive);
    const result = Bun.spawnSync([GNU_TAR!, "--numeric-owner", "--quoting-style=literal", "--full-time", "--utc", "-tvf", path], { stdout: "pipe", stderr: "pipe", env: { LC_ALL: "C.UTF-8", PATH: process.env.PATH ?? "" } });
    const members = result.stdout.toString().split("\n").filter(Boolean).map(parseLine);
    return { status: result.exitCode ?? 1, members, stderr: result.stderr.toString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseLine(line: string): Listed {
  const match = /^(\S)\S*\s+\S+\s+(\S+)\s+(?:\d+-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+ *)?|-?\d+) (.*)$/.exec(line);
  if (!match) throw new Error(`unexpected tar -tv line: ${line}`);
  const [, char, size, rest] = match as unknown as [string, string, string, string];
  const type = TYPE_BY_CHAR[char] ?? "other";
  let name = rest.replace(/--(Volume Header|Continued at byte \d+)--$/, "").replace(/ unknown file type [‘'].[’']$/, "");
  let link = "";
  const arrow = type === "symlink" ? " -> " : type === "hardlink" ? " link to " : undefined;
  if (arrow && name.includes(arrow)) [name, link] = [name.slice(0, name.indexOf(arrow)), name.slice(name.indexOf(arrow) + arrow.length)];
  return { type, size: type.endsWith("-device") ? "dev" : size, name, link };
}

/** Our payload check's reader (archive-lint.ts), or the error it throws. */
export async function lintListing(archive: Buffer): Promise<Listed[] | Error> {
  async function* chunks() {
    for (let at = 0; at < archive.length; at += 700) yield archive.subarray(at, at + 700);
  }
  try {
    const members: Listed[] = [];
    for await (const m of tarHeaders(chunks(), "t.tar")) members.push(listed(m));
    return members;
  } catch (error) {
    return error as Error;
  }
}

/** The bundle reader (tar-reader.ts), or the error it throws. */
export async function bundleListing(archive: Buffer): Promise<Listed[] | Error> {
  const dir = mkdtempSync(join(tmpdir(), "va-ours-"));
  try {
    const path = join(dir, "a.tar");
    writeFileSync(path, archive);
    const members: Listed[] = [];
    for await (const m of readTar(path)) members.push(listed(m));
    return members;
  } catch (error) {
    return error as Error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function listed(m: { type: string; size: number; name: string; linkName: string }): Listed {
  const type = ["gnu-long-name", "gnu-long-link", "pax", "pax-global"].includes(m.type) ? "other" : m.type;
  return { type, size: type.endsWith("-device") ? "dev" : String(m.size), name: m.name, link: type === "symlink" || type === "hardlink" ? m.linkName : "" };
}
