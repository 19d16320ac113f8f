import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { cacheRoot } from "../assets/cache.ts";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { generateSigningKeys } from "../../build/keygen.ts";
import { collectOverlay } from "../../build/overlay.ts";
import { TOOLS } from "../../build/tools.ts";

const REPO = join(import.meta.dir, "../..");
const GRUB_TOOLS = TOOLS.filter((t) => t.name === "grub-install" || t.name === "grub-probe");

function fakeSysroot(names: string[]): string {
  const root = mkdtempSync(join(tmpdir(), "va-sysroot-"));
  mkdirSync(join(root, "usr/sbin"), { recursive: true });
  mkdirSync(join(root, "usr/lib/grub/i386-pc"), { recursive: true });
  for (const name of names) writeFileSync(join(root, "usr/sbin", name), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  writeFileSync(join(root, "usr/lib/grub/i386-pc/modinfo.sh"), "grub_target_cpu=i386\ngrub_platform=pc\n");
  writeFileSync(join(root, "usr/lib/grub/i386-pc/normal.mod"), "\x7fELF module");
  return root;
}

function vendorKeyring(dir: string): string {
  generateSigningKeys(dir);
  return dir;
}

function overlayPaths(sysroot: string): string[] {
  const agent = join(mkdtempSync(join(tmpdir(), "va-agent-")), "agent");
  writeFileSync(agent, "#!/bin/sh\n");
  const contents = collectOverlay({
    sysroot,
    agent,
    unit: join(REPO, "units/dracut-emergency.service"),
    overlayDir: join(REPO, "initramfs-overlay"),
    keyring: vendorKeyring(join(dirname(agent), "keys")),
    tools: GRUB_TOOLS,
  });
  return contents.entries.map((e) => e.path);
}

describe("the tiny system carries GRUB for arm-resume-boot", () => {
  test("build/tools.ts lists grub-install with the i386-pc module directory", () => {
    expect(GRUB_TOOLS.map((t) => t.name)).toEqual(["grub-install", "grub-probe"]);
    expect(GRUB_TOOLS[0]!.dirs).toEqual(["/usr/lib/grub/i386-pc"]);
  });

  test("Debian names: grub-install, grub-probe and the whole module directory", () => {
    const paths = overlayPaths(fakeSysroot(["grub-install", "grub-probe"]));
    expect(paths).toContain("usr/sbin/grub-install");
    expect(paths).toContain("usr/sbin/grub-probe");
    expect(paths).toContain("usr/lib/grub/i386-pc/modinfo.sh");
    expect(paths).toContain("usr/lib/grub/i386-pc/normal.mod");
  });

  test("EL names: grub2-install and grub2-probe are taken when grub-install is absent", () => {
    const paths = overlayPaths(fakeSysroot(["grub2-install", "grub2-probe"]));
    expect(paths).toContain("usr/sbin/grub2-install");
    expect(paths).toContain("usr/sbin/grub2-probe");
    expect(paths).not.toContain("usr/sbin/grub-install");
    expect(paths).toContain("usr/lib/grub/i386-pc/normal.mod");
  });

  test("a sysroot without GRUB is refused at build time", () => {
    expect(() => overlayPaths(fakeSysroot([]))).toThrow(/grub-install/);
  });

  // The newest cached Debian 13 root, when the e2e assets were built on this machine (skipped on a cold one).
  const cached = newestCachedRoot();
  test.skipIf(!cached || !existsSync(join(cached, "usr/sbin/grub-install")))("the real Debian 13 root: grub-install with its libraries", () => {
    const paths = overlayPaths(cached!);
    expect(paths).toContain("usr/sbin/grub-install");
    expect(paths).toContain("usr/lib/grub/i386-pc/boot.img");
    expect(paths.filter((p) => p.startsWith("usr/lib/grub/i386-pc/") && p.endsWith(".mod")).length).toBeGreaterThan(200);
  });
});

function newestCachedRoot(): string | undefined {
  const root = cacheRoot();
  if (!existsSync(root)) return undefined;
  const roots = readdirSync(root)
    .filter((name) => name.startsWith("new-os-root-"))
    .map((name) => join(root, name, "root"))
    .filter((dir) => existsSync(dir));
  return roots.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}
