// Host-side helpers for the test-asset builders: running commands (argv arrays, no shell),
// installing missing host packages, chroot mounts, streaming sha256.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** bytes or text fed to the child's stdin (otherwise stdin is /dev/null) */
  stdin?: string | Uint8Array;
  /** do not throw on a non-zero exit */
  nothrow?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
}

function fmt(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

async function spawn(argv: string[], opts: RunOptions, capture: boolean): Promise<RunResult> {
  const proc = Bun.spawn(argv, {
    cwd: opts.cwd,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdin: opts.stdin === undefined ? "ignore" : "pipe",
    // Children never write to our stdout: the CLIs print JSON there.
    stdout: capture ? "pipe" : 2,
    stderr: 2,
  });
  if (opts.stdin !== undefined && proc.stdin) {
    proc.stdin.write(opts.stdin);
    await proc.stdin.end();
  }
  const out = capture && proc.stdout ? await new Response(proc.stdout as ReadableStream).text() : "";
  const code = await proc.exited;
  if (code !== 0 && !opts.nothrow) {
    throw new Error(`command failed (exit ${code}): ${fmt(argv)}`);
  }
  return { code, stdout: out };
}

/** Runs argv with output going to our stderr; throws on failure unless nothrow. */
export async function run(argv: string[], opts: RunOptions = {}): Promise<number> {
  process.stderr.write(`+ ${fmt(argv)}\n`);
  return (await spawn(argv, opts, false)).code;
}

/** Runs argv and returns its stdout; throws on failure unless nothrow. */
export async function capture(argv: string[], opts: RunOptions = {}): Promise<string> {
  return (await spawn(argv, opts, true)).stdout;
}

let aptUpdated = false;

/** Installs the Debian packages that are not installed yet (apt-get, non-interactive). */
export async function ensureHostPackages(pkgs: string[]): Promise<void> {
  const missing: string[] = [];
  for (const p of pkgs) {
    const r = await spawn(["dpkg-query", "-W", "-f=${Status}", p], { nothrow: true }, true);
    if (r.code !== 0 || !r.stdout.includes("install ok installed")) missing.push(p);
  }
  if (missing.length === 0) return;
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    await run(["apt-get", "update"], { env });
    aptUpdated = true;
  }
  await run(["apt-get", "install", "-y", "--no-install-recommends", ...missing], { env });
}

/** Mount points (decoded) at or under dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  const d = dir.replace(/\/+$/, "");
  const text = readFileSync("/proc/self/mounts", "utf8");
  const points = text
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[1]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === d || p.startsWith(d + "/"));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or under dir (recursive, lazy as a last resort). */
export async function unmountUnder(dir: string): Promise<void> {
  for (const p of mountsUnder(dir)) {
    const code = await run(["umount", "-R", p], { nothrow: true });
    if (code !== 0 && mountsUnder(p).length > 0) await run(["umount", "-R", "-l", p], { nothrow: true });
  }
}

/**
 * Runs fn with /proc, /sys and /dev (recursive bind, slave) mounted in root; always unmounts.
 */
export async function withChrootMounts<T>(root: string, fn: () => Promise<T>): Promise<T> {
  try {
    await run(["mount", "-t", "proc", "proc", `${root}/proc`]);
    await run(["mount", "-t", "sysfs", "sysfs", `${root}/sys`]);
    await run(["mount", "--rbind", "/dev", `${root}/dev`]);
    await run(["mount", "--make-rslave", `${root}/dev`]);
    return await fn();
  } finally {
    for (const sub of ["dev", "sys", "proc"]) await unmountUnder(`${root}/${sub}`);
    const left = ["dev", "sys", "proc"].flatMap((s) => mountsUnder(`${root}/${s}`));
    if (left.length) throw new Error(`could not unmount: ${left.join(", ")}`);
  }
}

/** Runs a command inside the chroot (plain environment, noninteractive apt). */
export async function chroot(root: string, argv: string[], opts: RunOptions = {}): Promise<number> {
  return run(["chroot", root, ...argv], {
    ...opts,
    env: {
      DEBIAN_FRONTEND: "noninteractive",
      LC_ALL: "C.UTF-8",
      LANG: "C.UTF-8",
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      ...(opts.env ?? {}),
    },
  });
}

/** sha256 (hex) and size of a file, read once as a stream. */
export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest("hex"), bytes };
}

export function requireRoot(): void {
  if (process.getuid && process.getuid() !== 0) throw new Error("test assets must be built as root");
}

export function fileExists(p: string): boolean {
  return existsSync(p);
}
