// Cache of test assets, outside the repo (see docs/CONTRACTS.md).
// <root>/<name>-<key>/ where key = first 16 hex of sha256(recipe joined with NUL).
// A build fills <root>/.tmp-<name>-<key>-<pid> and is renamed into place only when complete.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mountsUnder, run } from "./host.ts";

export function cacheRoot(): string {
  return process.env.VA_CACHE || "/var/cache/va-agent-test";
}

export function recipeKey(recipe: string[]): string {
  return createHash("sha256").update(recipe.join("\0")).digest("hex").slice(0, 16);
}

function log(line: string): void {
  process.stderr.write(`[cache] ${line}\n`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes a directory tree, refusing if anything is still mounted under it. */
async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const mounts = mountsUnder(dir);
  if (mounts.length) {
    log(`NOT removing ${dir}: still mounted: ${mounts.join(", ")}`);
    return;
  }
  await run(["rm", "-rf", "--one-file-system", dir], { nothrow: true });
}

/** A lock directory per asset so two processes never build the same asset at once. */
async function lock(path: string): Promise<() => void> {
  for (let waited = 0; ; waited++) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, "pid"), String(process.pid));
      return () => {
        try {
          rmSync(path, { recursive: true, force: true });
        } catch {
          /* ignore */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let owner = 0;
      try {
        owner = Number(readFileSync(join(path, "pid"), "utf8"));
      } catch {
        /* being created or removed */
      }
      if (owner && !pidAlive(owner)) {
        log(`removing stale lock ${path} (pid ${owner} gone)`);
        await run(["rm", "-rf", path], { nothrow: true });
        continue;
      }
      if (waited % 30 === 0) log(`waiting for ${path} (pid ${owner || "?"})`);
      await Bun.sleep(2000);
    }
  }
}

/**
 * Returns the directory of the asset `name` built from `recipe`, building it with `build(tmpDir)`
 * when it is not cached yet.
 */
export async function cachedAsset(
  name: string,
  recipe: string[],
  build: (tmpDir: string) => Promise<void>,
): Promise<string> {
  const root = cacheRoot();
  const key = recipeKey(recipe);
  const final = join(root, `${name}-${key}`);
  if (existsSync(final)) {
    log(`reuse ${final}`);
    return final;
  }
  mkdirSync(root, { recursive: true });
  const unlock = await lock(join(root, `.lock-${name}-${key}`));
  try {
    if (existsSync(final)) {
      log(`reuse ${final} (built by another process)`);
      return final;
    }
    const tmp = join(root, `.tmp-${name}-${key}-${process.pid}`);
    await removeTree(tmp);
    mkdirSync(tmp, { recursive: true });
    log(`building ${final}`);
    const t0 = performance.now();
    try {
      await build(tmp);
    } catch (e) {
      await removeTree(tmp);
      throw e;
    }
    const left = mountsUnder(tmp);
    if (left.length) throw new Error(`build of ${name} left mounts: ${left.join(", ")}`);
    renameSync(tmp, final);
    log(`built ${final} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return final;
  } finally {
    unlock();
  }
}
