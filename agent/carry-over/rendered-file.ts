import { lstatSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomically } from "../disk/write-file-atomically.ts";

/** One file a renderer produces; `path` is absolute inside the new root. */
export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
}

/** A symlink at the destination is replaced by the rename, never followed: it would point into the tiny system. */
export function writeRenderedFile(targetRoot: string, file: RenderedFile): void {
  const full = join(targetRoot, file.path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileAtomically(full, file.content, { mode: file.mode });
}

export function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
