import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MissingInSysrootError,
  readElfDepsFile,
  resolveInSysroot,
  resolveLibraryClosure,
} from "../../build/elf.ts";

/** DT_NEEDED as the host's readelf reports it: the reference our reader must match. */
function readelfNeeded(path: string): string[] {
  const out = Bun.spawnSync(["readelf", "-d", path]).stdout.toString();
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
}

describe("readElfDeps", () => {
  for (const bin of ["/usr/bin/ls", "/bin/bash"]) {
    test(`${bin}: DT_NEEDED and PT_INTERP match readelf`, () => {
      const deps = readElfDepsFile(bin);
      expect(deps.needed).toEqual(readelfNeeded(bin));
      expect(deps.needed).toContain("libc.so.6");
      expect(deps.interp).toBe("/lib64/ld-linux-x86-64.so.2");
    });
  }

  test("a shared library has DT_NEEDED but no interpreter", () => {
    const deps = readElfDepsFile("/usr/lib/x86_64-linux-gnu/libtinfo.so.6");
    expect(deps.needed).toEqual(readelfNeeded("/usr/lib/x86_64-linux-gnu/libtinfo.so.6"));
    expect(deps.interp).toBeUndefined();
  });

  test("a non-ELF file is an error", () => {
    expect(() => readElfDepsFile("/etc/hostname")).toThrow(/not an ELF file/);
  });
});

describe("closure inside a fake sysroot", () => {
  const root = mkdtempSync(join(tmpdir(), "va-elf-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const hostLib = "/usr/lib/x86_64-linux-gnu";

  // usr-merged layout with the links dracut and Debian use
  mkdirSync(join(root, "usr/bin"), { recursive: true });
  mkdirSync(join(root, "usr/lib/x86_64-linux-gnu"), { recursive: true });
  mkdirSync(join(root, "usr/lib64"), { recursive: true });
  mkdirSync(join(root, "opt/only-in-sysroot"), { recursive: true });
  symlinkSync("usr/lib", join(root, "lib"));
  symlinkSync("usr/lib64", join(root, "lib64"));
  copyFileSync("/bin/bash", join(root, "usr/bin/bash"));
  copyFileSync(join(hostLib, "libc.so.6"), join(root, "usr/lib/x86_64-linux-gnu/libc.so.6"));
  copyFileSync(join(hostLib, "ld-linux-x86-64.so.2"), join(root, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
  // absolute symlink: must be read as <root>/usr/lib/..., not the host's /usr/lib/...
  symlinkSync("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", join(root, "usr/lib64/ld-linux-x86-64.so.2"));
  // absolute symlink to a place that exists only in the sysroot (so a host lookup would fail)
  copyFileSync(join(hostLib, "libtinfo.so.6"), join(root, "opt/only-in-sysroot/libtinfo.so.6.4"));
  symlinkSync("/opt/only-in-sysroot/libtinfo.so.6.4", join(root, "usr/lib/x86_64-linux-gnu/libtinfo.so.6"));

  test("resolveInSysroot follows absolute links inside the root and never escapes it", () => {
    expect(resolveInSysroot(root, "/lib64/ld-linux-x86-64.so.2")).toBe("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    expect(resolveInSysroot(root, "/lib/x86_64-linux-gnu/libtinfo.so.6")).toBe("/opt/only-in-sysroot/libtinfo.so.6.4");
    expect(resolveInSysroot(root, "/../../../usr/bin/bash")).toBe("/usr/bin/bash");
    expect(resolveInSysroot(root, "/usr/bin/ls")).toBeUndefined(); // exists on the host only
  });

  test("bash's closure comes entirely from the sysroot", () => {
    const closure = resolveLibraryClosure(root, [join(root, "usr/bin/bash")]);
    expect(closure.map((f) => f.path).sort()).toEqual([
      "/lib64/ld-linux-x86-64.so.2", // PT_INTERP
      "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", // glibc's libc.so.6 has DT_NEEDED on the loader
      "/usr/lib/x86_64-linux-gnu/libc.so.6",
      "/usr/lib/x86_64-linux-gnu/libtinfo.so.6",
    ]);
    for (const f of closure) expect(f.source.startsWith(root + "/")).toBe(true);
    expect(closure.find((f) => f.path.endsWith("libtinfo.so.6"))!.source).toBe(join(root, "opt/only-in-sysroot/libtinfo.so.6.4"));
  });

  test("a missing library names the library, the sysroot and who needs it", () => {
    rmSync(join(root, "opt/only-in-sysroot/libtinfo.so.6.4"));
    let err: unknown;
    try {
      resolveLibraryClosure(root, [join(root, "usr/bin/bash")]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingInSysrootError);
    expect((err as Error).message).toContain("libtinfo.so.6");
    expect((err as Error).message).toContain(root);
    expect((err as Error).message).toContain("usr/bin/bash");
  });
});
