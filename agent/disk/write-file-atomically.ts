import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface FileModeAndOwner {
  /** The final mode, set on the temp file when it is created: the file is never wider than this. */
  mode: number;
  owner?: { uid: number; gid: number };
}

/**
 * A file replaced as a whole: a temp file in the same directory, created with its final mode (and
 * owner) before a byte of content is in it, written, fsynced, renamed over the old one, and the
 * directory fsynced. A power cut leaves the old file or the new one, never a truncated or torn one,
 * and a secret is never readable by others for a moment.
 */
export function writeFileAtomically(path: string, content: string | Uint8Array, options: FileModeAndOwner): void {
  const temp = openTemp(path, options);
  try {
    const bytes = typeof content === "string" ? Buffer.from(content) : content;
    for (let at = 0; at < bytes.length; ) at += writeSync(temp.fd, bytes, at, bytes.length - at);
  } catch (error) {
    temp.discard();
    throw error;
  }
  temp.commit();
}

export function copyFileAtomically(source: string, destination: string, options: FileModeAndOwner): void {
  const temp = openTemp(destination, options);
  const input = openSync(source, "r");
  try {
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    for (let read = readSync(input, chunk); read > 0; read = readSync(input, chunk)) {
      for (let at = 0; at < read; ) at += writeSync(temp.fd, chunk, at, read - at);
    }
  } catch (error) {
    temp.discard();
    throw error;
  } finally {
    closeSync(input);
  }
  temp.commit();
}

export interface TempFile {
  /** Where the content goes until commit: a program may write it too (it opens an existing file, keeping its mode). */
  path: string;
  fd: number;
  commit(): void;
  discard(): void;
}

/** The temp file of `path`, already with the final mode and owner; a temp left by a crash is replaced. */
export function openTemp(path: string, options: FileModeAndOwner): TempFile {
  const temp = join(dirname(path), `.${basename(path)}.va-tmp`);
  rmSync(temp, { force: true });
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, options.mode);
  try {
    if (options.owner) fchownSync(fd, options.owner.uid, options.owner.gid);
    // the umask may have narrowed it, never widened it: now exactly the mode asked for
    fchmodSync(fd, options.mode);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  return {
    path: temp,
    fd,
    commit() {
      fsyncSync(fd);
      closeSync(fd);
      renameSync(temp, path);
      syncDirectory(dirname(path));
    },
    discard() {
      closeSync(fd);
      rmSync(temp, { force: true });
    },
  };
}

/** What an in-place rewrite keeps: the mode and owner of the file it replaces, or `mode` for a new file. */
export function modeAndOwnerOf(path: string, mode: number): FileModeAndOwner {
  try {
    const stat = statSync(path);
    return { mode: stat.mode & 0o7777, owner: { uid: stat.uid, gid: stat.gid } };
  } catch {
    return { mode };
  }
}

export function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  }
}
