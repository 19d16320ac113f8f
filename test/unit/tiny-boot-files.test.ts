/**
 * Issue 13 item 2: the tiny kernel `stage` left in /boot (vmlinuz-va-convert) sorted above the
 * real kernels in GRUB's 10_linux, so the old system's next update-grub made it the default entry,
 * without an initramfs: the "safe" old system panicked after a hand-back.
 *
 * grub-mkconfig cannot run here, so the test encodes the globs the real scripts list kernels with
 * and checks every path the agent writes against them:
 * - Debian: util/grub.d/10_linux.in of Debian's grub2 package (read from mxOBS/debian_grub2 at
 *   78243319): x86 `/boot/vmlinuz-* /vmlinuz-* /boot/kernel-*`; other architectures add
 *   `/boot/vmlinux-* /vmlinux-*`; arm `/boot/zImage-* /zImage-* /boot/Image-* /Image-*`.
 * - EL: util/grub.d/10_linux.in of rhboot/grub2 (024e7b13) and of Fedora's tree
 *   (vathpela/grub2-fedora 5dea49a3): the same lists; with GRUB_ENABLE_BLSCFG=true the menu is
 *   `blscfg`, i.e. the BLS snippets in /boot/loader/entries/*.conf.
 * - 20_linux_xen.in (AOSC-Tracking/grub eb7eb307, shipped by both): `/boot/vmlinu[xz]-*
 *   /vmlinu[xz]-* /boot/kernel-*` and hypervisors `/boot/xen*`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { nextEntryIn, renderGrubenv } from "../../agent/bootloader/grubenv.ts";
import { MIGRATION_ENTRY_TITLE, migrationMenuEntry, type OldBootloader, TINY_INITRAMFS_FILE, TINY_KERNEL_FILE } from "../../agent/bootloader/one-time-boot.ts";
import { resumeGrubCfg } from "../../agent/bootloader/resume-entry.ts";
import { ExitCode, JournalError } from "../../agent/errors/errors.ts";
import { Journal } from "../../agent/journal/journal.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { defaultPaths, RESUME_BOOT_DIR } from "../../agent/paths.ts";
import { renderUndo } from "../../agent/cli/stage.ts";
import { statusReport } from "../../agent/cli/status.ts";
import { stageBundle } from "../../agent/stage/stage.ts";
import { undoStage } from "../../agent/stage/undo.ts";
import type { StepContext } from "../../agent/steps/step.ts";
import type { Manifest } from "../../agent/manifest/manifest.ts";
import { handBackToOldSystem } from "../../agent/workflow/hand-back.ts";
import { parseSecondBoot, secondBootSection } from "../e2e/click-path.ts";
import { buildTestBundle, removeWorkspaces } from "./bundle-fixture.ts";
import { FakeRunner } from "./fake-runner.ts";
import { GRUBENV_BYTES, snapshot, stageableOldBox, workspaceWithBootableRoot } from "./old-box-fixture.ts";

afterAll(removeWorkspaces);

/** The globs of the grub.d scripts above, as the running system's paths (a separate /boot is mounted at /boot). */
const KERNEL_GLOBS = {
  "Debian 10_linux (x86)": ["/boot/vmlinuz-*", "/vmlinuz-*", "/boot/kernel-*"],
  "Debian 10_linux (other architectures)": ["/boot/vmlinuz-*", "/boot/vmlinux-*", "/vmlinuz-*", "/vmlinux-*", "/boot/kernel-*"],
  "Debian 10_linux (arm)": ["/boot/zImage-*", "/zImage-*", "/boot/Image-*", "/Image-*", "/boot/kernel-*"],
  "EL 10_linux": ["/boot/vmlinuz-*", "/boot/vmlinux-*", "/vmlinuz-*", "/vmlinux-*", "/boot/kernel-*"],
  "EL blscfg": ["/boot/loader/entries/*.conf"],
  "20_linux_xen": ["/boot/vmlinu[xz]-*", "/vmlinu[xz]-*", "/boot/kernel-*", "/boot/xen*"],
};

/** A shell glob as sh expands it: `*` and `?` never cross a `/`, `[..]` is a class. */
function globRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
  return new RegExp(`^${body}$`);
}

function globsMatching(path: string): string[] {
  return Object.entries(KERNEL_GLOBS).flatMap(([script, globs]) => globs.filter((glob) => globRegExp(glob).test(path)).map((glob) => `${script}: ${glob}`));
}

/** Every file and directory under root/boot, as the old system sees it (/boot/…). */
function bootPaths(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      out.push(`/${relative(root, full)}`);
      if (statSync(full).isDirectory()) walk(full);
    }
  };
  walk(join(root, "boot"));
  return out;
}

async function stagedBox() {
  const ws = workspaceWithBootableRoot();
  const box = stageableOldBox();
  const before = snapshot(box.root);
  const bootBefore = new Set(bootPaths(box.root));
  await stageBundle(box.run, silentLog(), { bundle: await buildTestBundle(ws), root: box.root, keyring: ws.keyring, onReport: () => {} });
  const added = bootPaths(box.root).filter((path) => !bootBefore.has(path));
  return { ...box, before, added };
}

const OLD_BOOT: OldBootloader = {
  grubDir: "/boot/grub2",
  rebootTool: "grub2-reboot",
  mkconfigTool: "grub2-mkconfig",
  bootFsUuid: "0f0e0d0c-0b0a-4908-8706-050403020100",
  bootIsSeparate: true,
  consoles: ["console=ttyS0,115200"],
};

const hasScriptCheck = Bun.which("grub-script-check") !== null;
if (!hasScriptCheck) console.log("issue 13 item 2: grub-script-check is not installed here; the GRUB syntax check of custom.cfg and the resume grub.cfg is skipped");

describe("issue 13 item 2: the old Debian system keeps its default boot after a hand-back", () => {
  test("the glob check itself: the old agent's /boot/vmlinuz-va-convert is listed by 10_linux, a real kernel too", () => {
    expect(globsMatching("/boot/vmlinuz-va-convert")).toContain("Debian 10_linux (x86): /boot/vmlinuz-*");
    expect(globsMatching("/boot/vmlinuz-5.10.0-28-amd64")).toContain("EL 10_linux: /boot/vmlinuz-*");
    expect(globsMatching("/boot/xen-4.17.gz")).toEqual(["20_linux_xen: /boot/xen*"]);
    expect(globsMatching("/boot/grub2/vmlinuz-x")).toEqual([]);
  });

  test("stage puts the tiny system where no grub.d script of Debian or EL lists a kernel", async () => {
    const box = await stagedBox();
    const tinyFiles = box.added.filter((path) => !path.startsWith("/boot/grub2/"));
    expect(tinyFiles.length).toBeGreaterThanOrEqual(2);
    for (const path of box.added) expect({ path, globs: globsMatching(path) }).toEqual({ path, globs: [] });
  });

  test("the migration entry boots exactly the files stage wrote", async () => {
    const box = await stagedBox();
    const entry = readFileSync(join(box.root, "boot/grub2/custom.cfg"), "utf8");
    const booted = [...entry.matchAll(/^\s*(?:linux|initrd)\s+(\S+)/gm)].map((m) => `/boot${m[1]}`);
    expect(booted).toHaveLength(2);
    for (const path of booted) expect(existsSync(join(box.root, path))).toBe(true);
    expect(booted.every((path) => box.added.includes(path))).toBe(true);
  });

  test("the resume kit on the new /boot is outside every glob as well (the new system's grub-mkconfig)", () => {
    for (const file of [TINY_KERNEL_FILE, TINY_INITRAMFS_FILE, "grub/grub.cfg"]) {
      const path = `/boot/${RESUME_BOOT_DIR}/${file}`;
      expect({ path, globs: globsMatching(path) }).toEqual({ path, globs: [] });
    }
  });

  test.skipIf(!hasScriptCheck)("custom.cfg's entry and the resume grub.cfg pass grub-script-check", () => {
    const dir = mkdtempSync(join(tmpdir(), "va-grub-syntax-"));
    const files = {
      "custom.cfg": migrationMenuEntry(OLD_BOOT, { payload: { stagingDir: "/etc/upd" } as Manifest["payload"] }),
      "resume.cfg": resumeGrubCfg({ dir: "/va-resume", fstype: "ext4", onLvm: false, carried: ["console=ttyS0,115200", "va.after=reboot"] }),
    };
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(dir, name), text);
      const check = Bun.spawnSync(["grub-script-check", join(dir, name)], { stdout: "pipe", stderr: "pipe" });
      expect({ name, exit: check.exitCode, stderr: check.stderr.toString() }).toEqual({ name, exit: 0, stderr: "" });
    }
  });

  test("hand-back removes the tiny system and its custom.cfg entry from the old /boot, keeping the operator's entries", async () => {
    const box = await stagedBox();
    const userEntry = "menuentry 'rescue stick' {\n  chainloader (hd1)+1\n}\n";
    writeFileSync(join(box.root, "boot/grub2/custom.cfg"), `${userEntry}${readFileSync(join(box.root, "boot/grub2/custom.cfg"), "utf8")}`);
    const work = mkdtempSync(join(tmpdir(), "va-tiny-run-"));
    const paths = { ...defaultPaths(work, join(work, "sysimage")), oldRootMount: box.root };
    mkdirSync(join(box.root, "etc"), { recursive: true });
    writeFileSync(join(box.root, "etc/fstab"), "/dev/mapper/centos-root / xfs defaults 0 0\n");
    const ctx = {
      paths,
      run: new FakeRunner(),
      log: silentLog(),
      plan: { oldSystem: { root: { device: "/dev/mapper/centos-root", fstype: "xfs" } } },
    } as unknown as StepContext;
    await handBackToOldSystem(ctx, ctx.plan.oldSystem.root, Journal.open(join(work, "journal.json")));
    expect(box.added.filter((path) => !path.startsWith("/boot/grub2/") && existsSync(join(box.root, path)))).toEqual([]);
    expect(readFileSync(join(box.root, "boot/grub2/custom.cfg"), "utf8")).toBe(userEntry);
    expect(nextEntryIn(join(box.root, "boot/grub2/grubenv"))).toBeUndefined();
  });

  test("stage --undo removes the tiny files, the custom.cfg entry, next_entry and the staged payload; twice is once", async () => {
    const box = await stagedBox();
    expect(nextEntryIn(join(box.root, "boot/grub2/grubenv"))).toBe(MIGRATION_ENTRY_TITLE);
    const paths = defaultPaths(mkdtempSync(join(tmpdir(), "va-work-")), "/nonexistent");
    const first = undoStage({ root: box.root, paths });
    expect(first.removed).toContain("/etc/upd");
    expect(first.removed).toContain("next_entry in /boot/grub2/grubenv");
    expect(snapshot(box.root)).toEqual(box.before);
    expect(undoStage({ root: box.root, paths }).removed).toEqual([]);
    expect(snapshot(box.root)).toEqual(box.before);
  });

  test("stage --undo also removes the tiny kernel an older agent left in /boot, and leaves a next_entry that is not ours", () => {
    const { root } = stageableOldBox();
    writeFileSync(join(root, "boot/vmlinuz-va-convert"), "old tiny kernel");
    writeFileSync(join(root, "boot/initramfs-va-convert.img"), "old tiny initramfs");
    writeFileSync(join(root, "boot/grub2/grubenv"), renderGrubenv(new Map([["next_entry", "CentOS rescue"]]), GRUBENV_BYTES));
    const undone = undoStage({ root, paths: defaultPaths(mkdtempSync(join(tmpdir(), "va-work-")), "/nonexistent") });
    expect(undone.removed).toEqual(["/boot/vmlinuz-va-convert", "/boot/initramfs-va-convert.img"]);
    expect(nextEntryIn(join(root, "boot/grub2/grubenv"))).toBe("CentOS rescue");
  });

  test("stage --undo refuses after the point of no return and removes nothing", async () => {
    const box = await stagedBox();
    const journal = Journal.open(join(box.root, "var/lib/va-agent/journal.json"));
    journal.finish(journal.begin("load-payload", "d"), "done");
    journal.finish(journal.begin("write-staged-boot", "d"), "done");
    journal.begin("wipe-old-system", "d");
    const staged = snapshot(box.root);
    let caught: unknown;
    try {
      undoStage({ root: box.root, paths: defaultPaths(mkdtempSync(join(tmpdir(), "va-work-")), "/nonexistent") });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(JournalError);
    expect((caught as JournalError).exitCode).toBe(ExitCode.journal);
    expect((caught as JournalError).message).toContain("wipe-old-system");
    expect((caught as JournalError).hint).toContain("nothing was removed");
    expect(snapshot(box.root)).toEqual(staged);
  });

  test("the command line offers stage --undo, status points to it, and it reports what it removed", async () => {
    const help = Bun.spawnSync([process.execPath, join(import.meta.dir, "../../agent/main.ts"), "--help"], { stdout: "pipe" });
    expect(help.stdout.toString()).toContain("va-agent stage --undo [--json]");
    const box = await stagedBox();
    const paths = defaultPaths(mkdtempSync(join(tmpdir(), "va-work-")), "/nonexistent");
    expect(statusReport(paths, false, box.root)).toContain("`va-agent stage --undo` disarms it");
    const { removed } = undoStage({ root: box.root, paths });
    expect(renderUndo(removed, false)).toContain("  /boot/va-agent\n");
    expect(JSON.parse(renderUndo(removed, true))).toEqual({ undone: true, removed });
    expect(renderUndo([], false)).toStartWith("nothing to undo");
  });

  test("the QEMU proof's second-boot markers parse, a missing one is never taken for an empty one", () => {
    const serial = "VA-SECOND-BOOT\nVA-UNAME [5.10.0-28-amd64]\nVA-TINY-FILES [/boot/va-agent ]\nVA-NEXT-ENTRY []\nVA-END-OF-SECOND-BOOT\n";
    expect(parseSecondBoot(serial)).toEqual({ uname: "5.10.0-28-amd64", tinyFiles: "/boot/va-agent", nextEntry: "", customEntries: "<missing>" });
  });

  test("the second boot is found on a whole console: an end marker never passes for the start (seen in QEMU: every marker <missing>)", () => {
    const firstBoot = "VA-TEST-HOOK: running run.sh\r\nVA-UPDATE-GRUB-EXIT 0\r\n## va-agent migrate FAILED with exit code 13 BEFORE the point of no return\r\n";
    const secondBoot = "va-old login: VA-SECOND-BOOT\r\nresult: failed (step prepare, exit 13)\r\nVA-STATUS-EXIT 0\r\nVA-UNAME [5.10.0-32-amd64]\r\nVA-TINY-FILES []\r\nVA-NEXT-ENTRY []\r\nVA-CUSTOM-ENTRY []\r\nVA-END-OF-SECOND-BOOT\r\n";
    const serial = firstBoot + secondBoot + "VA-TEST-HOOK: run.sh exit code 0\r\n";
    expect(secondBootSection(serial)).toStartWith("VA-SECOND-BOOT\r\nresult:");
    expect(parseSecondBoot(serial)).toEqual({ uname: "5.10.0-32-amd64", tinyFiles: "", nextEntry: "", customEntries: "" });
  });
});
