import { chmodSync, lstatSync, mkdirSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** One file a renderer produces; `path` is absolute inside the new root. */
export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
}

/** A symlink at the destination is replaced, never followed: it would point into the tiny system. */
export function writeRenderedFile(targetRoot: string, file: RenderedFile): void {
  const full = join(targetRoot, file.path);
  mkdirSync(dirname(full), { recursive: true });
  if (isSymlink(full)) unlinkSync(full);
  writeFileSync(full, file.content, { mode: file.mode });
  chmodSync(full, file.mode);
}

export function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
