import { existsSync, readdirSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import type { CarryOverWarning } from "./captured-config.ts";
import { notCarried } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";

/** One option line of an iface stanza; `key` with `_` spelled `-` (ifupdown exports both as the same IF_ variable). */
export interface IfupdownOption {
  key: string;
  value: string;
  where: string;
}

export interface Stanza {
  name: string;
  family: string;
  method: string;
  /** Words after the method (`inherits TEMPLATE`). */
  rest: string[];
  options: IfupdownOption[];
  where: string;
}

export interface InterfacesFiles {
  stanzas: Stanza[];
  /** Interfaces of `auto`, `allow-auto` and `allow-hotplug` lines: brought up at boot. */
  atBoot: Set<string>;
  /** Interfaces of other `allow-CLASS` lines, with the line: only `ifup --allow=CLASS` brings them up. */
  otherClasses: Map<string, string>;
  warnings: CarryOverWarning[];
}

/** interfaces(5): the file and every file its `source` and `source-directory` lines name, in order. */
export function readInterfacesFiles(root: string, path: string): InterfacesFiles {
  const files: InterfacesFiles = { stanzas: [], atBoot: new Set(), otherClasses: new Map(), warnings: [] };
  readFile(root, path, files, new Set());
  return files;
}

function readFile(root: string, path: string, files: InterfacesFiles, visited: Set<string>): void {
  const text = readRootFile(root, path);
  if (text === undefined || visited.has(path)) return;
  visited.add(path);
  let open: Stanza | "mapping" | undefined;
  for (const { line, number } of logicalLines(text)) {
    const [keyword = "", ...words] = line.split(/\s+/);
    const where = `${path}:${number}`;
    if (keyword === "iface") {
      open = { name: words[0] ?? "", family: words[1] ?? "", method: words[2] ?? "", rest: words.slice(3), options: [], where };
      files.stanzas.push(open);
    } else if (keyword === "mapping") {
      open = "mapping";
      files.warnings.push(notCarried("ifupdown-mapping", `${where}: mapping ${words.join(" ")}: logical interface mappings (map scripts) are not carried`));
    } else if (keyword === "auto" || keyword === "allow-auto" || keyword === "allow-hotplug") {
      open = undefined;
      for (const name of words) files.atBoot.add(name);
    } else if (keyword.startsWith("allow-")) {
      open = undefined;
      for (const name of words) files.otherClasses.set(name, `${where} (${keyword})`);
    } else if (keyword === "source" || keyword === "source-directory") {
      open = undefined;
      for (const file of sourcedFiles(root, keyword, words.join(" "), path)) readFile(root, file, files, visited);
    } else if (keyword === "no-auto-down" || keyword === "no-scripts") {
      open = undefined;
      if (keyword === "no-scripts") files.warnings.push(notCarried("ifupdown-no-scripts", `${where}: no-scripts ${words.join(" ")}: the if-*.d hooks are not run for these interfaces; carried as if they were`));
    } else if (open === "mapping") {
      continue;
    } else if (open) {
      open.options.push({ key: keyword.replaceAll("_", "-"), value: words.join(" "), where });
    } else {
      // ifupdown itself refuses the whole file for a misplaced option; never guess the stanza it meant.
      files.warnings.push(notCarried("ifupdown-misplaced-option", `${where}: "${line}" stands outside any iface stanza (ifupdown rejects such a file)`));
    }
  }
}

/** Comment lines (first non-blank `#`; no end-of-line comments) dropped, `\` continuations joined. */
function logicalLines(text: string): { line: string; number: number }[] {
  const lines: { line: string; number: number }[] = [];
  let pending: { line: string; number: number } | undefined;
  text.split("\n").forEach((raw, index) => {
    const physical = raw.replace(/\r$/, "");
    if (!pending && /^\s*#/.test(physical)) return;
    const continued = physical.endsWith("\\");
    const part = continued ? physical.slice(0, -1) : physical;
    pending = pending ? { line: `${pending.line} ${part}`, number: pending.number } : { line: part, number: index + 1 };
    if (continued) return;
    const line = pending.line.trim();
    if (line !== "") lines.push({ line, number: pending.number });
    pending = undefined;
  });
  if (pending && pending.line.trim() !== "") lines.push({ line: pending.line.trim(), number: pending.number });
  return lines;
}

/**
 * A relative path is relative to the directory of the file holding the line. `source` takes shell
 * globs (wordexp: `*` skips dot files); `source-directory` reads the files of the directories named,
 * with run-parts' name rule.
 */
function sourcedFiles(root: string, keyword: string, pattern: string, from: string): string[] {
  if (pattern === "") return [];
  const full = posix.resolve(posix.dirname(from), pattern);
  if (keyword === "source") return expandGlob(root, full).filter((path) => isFile(root, path));
  return expandGlob(root, full)
    .filter((dir) => isDirectory(root, dir))
    .flatMap((dir) => entries(root, dir).filter((name) => /^[a-zA-Z0-9_-]+$/.test(name)).map((name) => posix.join(dir, name)))
    .filter((path) => isFile(root, path));
}

function expandGlob(root: string, absolute: string): string[] {
  let paths = ["/"];
  for (const component of absolute.split("/").filter(Boolean)) {
    if (!/[*?[]/.test(component)) {
      paths = paths.map((dir) => posix.join(dir, component));
      continue;
    }
    const regex = globRegex(component);
    paths = paths.flatMap((dir) => entries(root, dir).filter((name) => regex.test(name)).map((name) => posix.join(dir, name)));
  }
  return paths;
}

function globRegex(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    const close = char === "[" ? glob.indexOf("]", i + 2) : -1;
    if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else if (close > 0) {
      source += `[${glob.slice(i + 1, close).replace(/^!/, "^").replaceAll("\\", "\\\\")}]`;
      i = close;
    } else source += char.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^(?!\\.)${source}$`);
}

function entries(root: string, dir: string): string[] {
  return isDirectory(root, dir) ? readdirSync(join(root, dir)).sort() : [];
}

function isDirectory(root: string, path: string): boolean {
  const full = join(root, path);
  return existsSync(full) && statSync(full).isDirectory();
}

function isFile(root: string, path: string): boolean {
  const full = join(root, path);
  return existsSync(full) && statSync(full).isFile();
}
