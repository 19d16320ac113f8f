/**
 * Issue 5's bad-input matrix: every case is refused with a typed error (distinct exit code per
 * category), a message naming the culprit, a hint saying what to do, and BEFORE anything
 * destructive: no wipe/partition/mkfs/extract/boot-loader command ran, the old root is unchanged.
 * The table is docs/BAD-INPUT.md.
 */
import { commandsOf } from "./step-hooks.ts";
import { afterAll, describe, expect, test } from "bun:test";
import { createPrivateKey } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderGrubenv } from "../../agent/bootloader/grubenv.ts";
import { signManifest } from "../../agent/bundle/signature.ts";
import { ArchiveError, BundleError, ExitCode, LayoutError, ManifestError, PayloadError, PreflightError, ProbeError, SignatureError, StepFailedError, ToolMissingError, VaError, VerificationError } from "../../agent/errors/errors.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { lintBundledRootfs } from "../../agent/payload/bundled-rootfs-lint.ts";
import type { PreflightCheck } from "../../agent/preflight/check.ts";
import { checkTinyTools } from "../../agent/preflight/tiny-tools.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { checkResult, ZxRunner } from "../../agent/runner/runner.ts";
import { stageBundle } from "../../agent/stage/stage.ts";
import { stageCommand } from "../../agent/cli/stage.ts";
import { MIGRATION_STEPS } from "../../agent/steps/index.ts";
import { runMigration } from "../../agent/workflow/migrate.ts";
import { generateSigningKeys } from "../../build/keygen.ts";
import { buildTestBundle, captureLog, captureStdout, makeWorkspace, memberEntries, removeWorkspaces, signedHead, writeRawTar, type RawEntry, type Workspace } from "./bundle-fixture.ts";
import { snapshot } from "./old-box-fixture.ts";
import { stagedTinySystem } from "./fixtures/staged-tiny-system.ts";
import { FakeRunner } from "./fake-runner.ts";
import { LAYOUT_BYTES, oldAppliance, referenceLayout, SHAPES, testManifest } from "./fixtures/shapes.ts";

afterAll(removeWorkspaces);

const FIXTURE = join(import.meta.dir, "fixtures/preflight/virtio-centos7");
const KVER = "6.12.0-va";
const MIB = 1024 ** 2;
const virtio = SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!;

// ---------------------------------------------------------------- refusals and "nothing destructive"

/** Commands that change a disk or the boot path: none may run before a refusal. */
function destructiveCalls(run: FakeRunner): string[][] {
  const destructive = /^(wipefs|sgdisk|pvcreate|vgcreate|lvcreate|vgremove|mkfs(\..*)?|tune2fs|xfs_admin|grub2?-(reboot|mkconfig|install|editenv)|grubby|dracut|systemctl)$/;
  return run.calls.filter((argv) => destructive.test(argv[0]!) || (argv[0] === "tar" && argv.includes("--extract")) || (argv[0] === "lvm" && ["vgchange", "vgremove", "pvcreate", "vgcreate", "lvcreate"].includes(argv[1]!) && argv.includes("n")));
}

async function refusal<T extends VaError>(kind: abstract new (...args: never[]) => T, exitCode: number, run: () => unknown): Promise<T> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error("expected a refusal");
  expect(caught).toBeInstanceOf(kind);
  expect((caught as VaError).exitCode).toBe(exitCode);
  return caught as T;
}

// ---------------------------------------------------------------- stage: an old CentOS-7-like box in a temp dir

interface OldBox {
  root: string;
  run: FakeRunner;
  before: Record<string, string>;
  checks: PreflightCheck[];
}

/** The virtio CentOS 7 pre-flight fixture copied to a temp root, its commands answered by a FakeRunner. */
function oldBox(options: { arch?: string; bootFreeBytes?: number } = {}): OldBox {
  const root = mkdtempSync(join(tmpdir(), "va-old-root-"));
  cpSync(join(FIXTURE, "root"), root, { recursive: true });
  mkdirSync(join(root, "boot/grub2"), { recursive: true });
  writeFileSync(join(root, "boot/grub2/grub.cfg"), "### BEGIN /etc/grub.d/41_custom ###\nsource ${config_directory}/custom.cfg\n");
  writeFileSync(join(root, "etc/shadow"), "root:$6$x$y:19000:0:99999:7:::\n");
  const canned = (file: string) => readFileSync(join(FIXTURE, file), "utf8");
  const run = new FakeRunner().filtersOn(new ZxRunner(silentLog())).respond((argv) => {
    const [tool, first] = argv;
    if (tool === "uname") return { stdout: `${options.arch ?? "x86_64"}\n` };
    if (tool === "findmnt" && first === "-no") return { stdout: "/dev/mapper/centos-root\n" };
    if (tool === "findmnt") return { stdout: `0f0e0d0c-0b0a-4908-8706-050403020100 ${join(root, "boot")}\n` };
    if (tool === "lsblk") return { stdout: canned("lsblk.json") };
    if (tool === "lvm" && first === "pvs") return { stdout: canned("pvs.json") };
    if (tool === "df") return { stdout: argv[3] === "/boot" ? `Avail Mounted on\n${options.bootFreeBytes ?? 800 * MIB} /boot\n` : `Avail Mounted on\n${3 * 1024 * MIB} /\n` };
    return undefined;
  });
  return { root, run, before: snapshot(root), checks: [] };
}

async function stage(box: OldBox, bundle: string, ws: Workspace, insecure = false) {
  return stageBundle(box.run, silentLog(), { bundle, root: box.root, keyring: ws.keyring, insecure, onReport: (checks) => (box.checks = checks) });
}

/** The old root is byte for byte as before, and nothing was armed, wiped or extracted. */
function expectUntouched(box: OldBox): void {
  expect(destructiveCalls(box.run)).toEqual([]);
  expect(snapshot(box.root)).toEqual(box.before);
  expect(existsSync(join(box.root, "etc/upd"))).toBe(false);
  expect(existsSync(join(box.root, "var/lib/va-agent/staged.json"))).toBe(false);
}

// ---------------------------------------------------------------- payload archives

const xz = (tar: Buffer): Buffer => {
  const result = Bun.spawnSync(["xz", "-c", "-0"], { stdin: tar, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`xz: ${result.stderr.toString()}`);
  return Buffer.from(result.stdout);
};

const GOOD_FSTAB = "/dev/mapper/VA-root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n/dev/mapper/VA-data /data ext4 defaults 0 2\nproc /proc proc defaults 0 0\n";

/** A small but bootable-looking root: merged /usr, kernel + modules, an absolute symlink, /dev/null. */
function goodRoot(): RawEntry[] {
  const filler = Buffer.alloc(256 * 1024);
  for (let i = 0; i < filler.length; i++) filler[i] = (i * 2654435761) >>> 24;
  return [
    { name: "./", type: "directory" },
    { name: "./usr/", type: "directory" },
    { name: "./usr/lib/", type: "directory" },
    { name: "./lib", type: "symlink", linkName: "usr/lib" },
    { name: "./boot/", type: "directory" },
    { name: `./boot/vmlinuz-${KVER}`, body: filler },
    { name: `./usr/lib/modules/${KVER}/modules.dep`, body: Buffer.from("\n") },
    { name: "./etc/localtime", type: "symlink", linkName: "/usr/share/zoneinfo/UTC" },
    { name: "./etc/os-release", body: Buffer.from('ID=debian\nVERSION_ID="13"\n') },
    { name: "./etc/fstab", body: Buffer.from(GOOD_FSTAB) },
    { name: "./etc/os-release.link", type: "hardlink", linkName: "./etc/os-release" },
    { name: "./dev/null", type: "character-device" },
  ];
}

function rootfsWriter(entries: RawEntry[]): (path: string) => void {
  return (path) => {
    writeRawTar(`${path}.tar`, entries);
    writeFileSync(path, xz(readFileSync(`${path}.tar`)));
    unlinkSync(`${path}.tar`);
  };
}

function workspaceWithRoot(entries: RawEntry[] = goodRoot()): Workspace {
  return makeWorkspace({ rootfs: rootfsWriter(entries) });
}

/** A signed bundle whose member `file` has one byte flipped (the signed manifest still lists the original digest). */
async function bundleWithFlippedByte(ws: Workspace, file: string): Promise<string> {
  const head = await signedHead(ws);
  const members = memberEntries(ws).map((entry) => {
    if (entry.name !== file) return entry;
    const body = Buffer.from(entry.body!);
    body[Math.floor(body.length / 2)]! ^= 0x01;
    return { ...entry, body };
  });
  return writeRawTar(join(ws.dir, `flipped-${file}.tar`), [...head.entries, ...members]);
}

/** A bundle whose manifest is changed and then properly signed: only the schema can refuse it. */
async function bundleWithSignedManifest(ws: Workspace, change: (document: Record<string, any>) => void): Promise<string> {
  const head = await signedHead(ws);
  const document = JSON.parse(head.manifest.toString("utf8"));
  change(document);
  const manifest = Buffer.from(`${JSON.stringify(document, null, 2)}\n`);
  const signature = signManifest(manifest, createPrivateKey(readFileSync(ws.keys.privateKeyFile)));
  return writeRawTar(join(ws.dir, "resigned.tar"), [{ name: "manifest.json", body: manifest }, { name: "manifest.json.sig", body: signature }, ...memberEntries(ws)]);
}

async function archiveRefusal(extra: RawEntry[], options: { without?: (entry: RawEntry) => boolean } = {}) {
  const entries = [...goodRoot().filter((entry) => !options.without?.(entry)), ...extra];
  const ws = workspaceWithRoot(entries);
  const box = oldBox();
  const error = await refusal(ArchiveError, ExitCode.archive, async () => stage(box, await buildTestBundle(ws), ws));
  expect(error.hint).toMatch(/rebuild the (payload|bundle)/i);
  expect(error.hint).toContain("nothing was changed");
  expectUntouched(box);
  return error;
}

// ---------------------------------------------------------------- tiny system: load-payload

/** The tiny system with a payload staged on the "old root" (a temp dir), every command faked. */
const tinySystem = () => stagedTinySystem(Buffer.from("pretend this is va.tar.xz, staged by va-agent stage"));

async function migrationRefusal(world: ReturnType<typeof tinySystem>): Promise<StepFailedError> {
  const before = snapshot(world.staged);
  const error = await refusal(StepFailedError, ExitCode.payload, () => runMigration(world.ctx, world.journal()));
  expect(error.cause).toBeInstanceOf(PayloadError);
  expect(error.details.step).toBe("load-payload");
  expect(world.journal().latest("load-payload")?.outcome).toBe("failed");
  expect(world.journal().latest("wipe-old-system")).toBeUndefined();
  expect(destructiveCalls(world.run)).toEqual([]);
  expect(snapshot(world.staged)).toEqual(before);
  return error;
}

function planRefusal<T extends VaError>(kind: abstract new (...args: never[]) => T, exitCode: number, machine = oldAppliance(virtio), manifest = testManifest()): Promise<T> {
  // planMigration is pure (no runner): `migrate` calls it in prepare(), before the first step
  return refusal(kind, exitCode, () => planMigration(manifest, referenceLayout(), machine));
}

// ---------------------------------------------------------------- the matrix

describe("bad-input matrix: refused before any destructive step, the old system intact", () => {
  test("corrupted payload byte", async () => {
    const ws = workspaceWithRoot();
    const box = oldBox();
    const error = await refusal(PayloadError, ExitCode.payload, async () => stage(box, await bundleWithFlippedByte(ws, "va.tar.xz"), ws));
    expect(error.message).toContain("bundle member va.tar.xz is corrupt");
    expect(error.hint).toContain("Download the bundle again");
    expectUntouched(box);
  });

  test("truncated payload", async () => {
    const world = tinySystem();
    const file = join(world.staged, "va.tar.xz");
    truncateSync(file, 10);
    const error = await migrationRefusal(world);
    expect(error.message).toContain("payload member va.tar.xz has 10 bytes, the manifest says");
    expect(error.message).toContain("truncated");
    expect(error.hint).toContain("Stage the bundle again");
    expect(error.hint).toContain("the old system was not changed");
  });

  test("truncated bundle", async () => {
    const ws = workspaceWithRoot();
    const bundle = await buildTestBundle(ws);
    const rootfs = readFileSync(ws.files.get("va.tar.xz")!);
    truncateSync(bundle, readFileSync(bundle).indexOf(rootfs.subarray(0, 512)) + Math.floor(rootfs.length / 2));
    const box = oldBox();
    const error = await refusal(BundleError, ExitCode.bundle, () => stage(box, bundle, ws));
    expect(error.message).toContain("is truncated: member va.tar.xz has only");
    expect(error.hint).toContain("fetch the bundle again");
    expectUntouched(box);
  });

  test("bad signature", async () => {
    const ws = workspaceWithRoot();
    const head = await signedHead(ws);
    const edited = Buffer.from(head.manifest.toString().replace('"release": "13.0"', '"release": "13.9"'));
    const bundle = writeRawTar(join(ws.dir, "edited.tar"), [{ name: "manifest.json", body: edited }, { name: "manifest.json.sig", body: head.signature }, ...memberEntries(ws)]);
    const box = oldBox();
    const error = await refusal(SignatureError, ExitCode.signature, () => stage(box, bundle, ws));
    expect(error.message).toContain("matches none of the 1 trusted key(s)");
    expect(error.hint).not.toBe("");
    expect(box.run.calls).toEqual([]);
    expectUntouched(box);
  });

  test("unknown key", async () => {
    const ws = workspaceWithRoot();
    const stranger = generateSigningKeys(join(ws.dir, "stranger"));
    const bundle = await buildTestBundle(ws, "stranger.tar", stranger.privateKeyFile);
    const box = oldBox();
    const error = await refusal(SignatureError, ExitCode.signature, () => stage(box, bundle, ws));
    expect(error.message).toContain(`matches none of the 1 trusted key(s) in ${ws.keyring}`);
    expect(error.hint).toContain(ws.keyring);
    expect(box.run.calls).toEqual([]);
    expectUntouched(box);
  });

  test("unsigned bundle without --insecure", async () => {
    const ws = workspaceWithRoot();
    const head = await signedHead(ws);
    const bundle = writeRawTar(join(ws.dir, "unsigned.tar"), [head.entries[0]!, ...memberEntries(ws)]);
    const box = oldBox();
    const error = await refusal(SignatureError, ExitCode.signature, () => stage(box, bundle, ws));
    expect(error.message).toContain(`bundle ${bundle} is not signed`);
    expect(error.hint).toContain("signed by the vendor");
    expect(box.run.calls).toEqual([]);
    expectUntouched(box);
  });

  const schemaCases: [string, (d: Record<string, any>) => void, string][] = [
    ["manifest missing field", (d) => delete d.lvm, "lvm: missing, it is required"],
    ["manifest wrong type", (d) => (d.target.lvmPartition = "three"), "target.lvmPartition: must be integer"],
    ["manifest unknown version", (d) => (d.version = 2), "version: must be 1 (this agent understands manifest version 1)"],
  ];
  for (const [name, change, problem] of schemaCases) {
    test(name, async () => {
      const ws = workspaceWithRoot();
      const bundle = await bundleWithSignedManifest(ws, change);
      const box = oldBox();
      const error = await refusal(ManifestError, ExitCode.manifest, () => stage(box, bundle, ws));
      expect(error.message).toContain(`${bundle}:manifest.json is invalid`);
      expect(error.message).toContain(problem);
      expect(error.hint).toContain("rebuild the bundle");
      expect(box.run.calls).toEqual([]);
      expectUntouched(box);
    });
  }

  test("layout larger than the disk", async () => {
    const error = await planRefusal(LayoutError, ExitCode.layout, oldAppliance({ ...virtio, diskBytes: LAYOUT_BYTES - 100 * MIB }));
    expect(error.message).toContain("the new layout needs a disk of 6144 MiB but /dev/vda has 6044 MiB");
    expect(error.hint).toContain("Grow the appliance's virtual disk");
  });

  test("RAM too small", async () => {
    const error = await planRefusal(PreflightError, ExitCode.preflight, oldAppliance(virtio, { ramBytes: 512 * MIB }));
    expect(error.message).toContain("not enough RAM");
    expect(error.message).toContain("the machine has 512 MiB");
    expect(error.hint).toContain("Give the appliance more memory");
  });

  test("a tool missing in the tiny system", async () => {
    const world = tinySystem();
    const commands = MIGRATION_STEPS.flatMap((step) => commandsOf(step, world.ctx));
    // before the point of no return: every planned tool is looked up on PATH
    const missing = await refusal(ToolMissingError, ExitCode.toolMissing, () => checkTinyTools(commands, (tool) => !["sgdisk", "mkfs.ext4"].includes(tool)));
    expect(missing.message).toBe("tool not found: mkfs.ext4, sgdisk");
    expect(missing.hint).toContain("rebuild the initramfs with build.ts");
    // an EL-built tiny system names it grub2-install: that is not a missing tool, but neither name is
    const grubInstall = [["grub-install", "--target=i386-pc", "/dev/vda"]];
    expect(() => checkTinyTools(grubInstall, (tool) => tool !== "grub-install", [])).not.toThrow();
    expect(() => checkTinyTools(grubInstall, (tool) => !tool.startsWith("grub"), [])).toThrow("tool not found: grub-install");
    // and a command that is not found anyway (exit 127) is a tool error, not a command failure
    const at127 = await refusal(ToolMissingError, ExitCode.toolMissing, () => checkResult(["sgdisk", "--zap-all", "/dev/vda"], { stdout: "", stderr: "bash: sgdisk: command not found", status: 127 }, {}));
    expect(at127.message).toBe("tool not found: sgdisk");
    expect(destructiveCalls(world.run)).toEqual([]);
    expect(world.run.calls).toEqual([]);
  });

  test("two candidate disks", async () => {
    const machine = oldAppliance(virtio);
    machine.blockDevices.push({ path: "/dev/vdb", type: "disk", sizeBytes: 8 * 1024 * MIB }, { path: "/dev/vdb1", type: "part", sizeBytes: 8 * 1024 * MIB - MIB, fstype: "ext4", parent: "/dev/vdb" });
    machine.rootCandidates.push({ device: "/dev/vdb1", fstype: "ext4", osRelease: { PRETTY_NAME: "Debian GNU/Linux 11 (bullseye)" }, hasStagedPayload: true });
    const error = await planRefusal(ProbeError, ExitCode.probe, machine);
    expect(error.message).toContain("more than one candidate old system root: /dev/mapper/centos-root (CentOS Linux 7 (Core)), /dev/vdb1 (Debian GNU/Linux 11 (bullseye))");
    expect(error.hint).toContain("Detach every disk but the appliance's own");
  });

  test("no old root found", async () => {
    const error = await planRefusal(ProbeError, ExitCode.probe, oldAppliance(virtio, { rootCandidates: [] }));
    expect(error.message).toContain("no old system root found");
    expect(error.hint).toContain("lsblk");
  });

  test("a VG already named like the new one", async () => {
    const machine = oldAppliance(virtio);
    machine.physicalVolumes.push({ device: "/dev/vdb1", vg: "VA" });
    const error = await planRefusal(PreflightError, ExitCode.preflight, machine);
    expect(error.message).toContain("a volume group named VA already exists on /dev/vdb1");
    expect(error.hint).toContain("vgrename VA");
  });

  test("payload archive with a `..` path", async () => {
    const error = await archiveRefusal([{ name: "./etc/../../etc/cron.d/evil", body: Buffer.from("* * * * * root sh\n") }]);
    expect(error.message).toContain('member "./etc/../../etc/cron.d/evil" is unsafe: its name has a `..` component');
  });

  test("payload archive with an absolute path", async () => {
    const error = await archiveRefusal([{ name: "/etc/shadow", body: Buffer.from("root::0:0:::::\n") }]);
    expect(error.message).toContain('member "/etc/shadow" is unsafe: its name is absolute');
  });

  test("payload archive with a symlink escaping the target (a member written through it)", async () => {
    const error = await archiveRefusal([
      { name: "./opt/escape", type: "symlink", linkName: "/" },
      { name: "./opt/escape/etc/passwd", body: Buffer.from("x") },
    ]);
    expect(error.message).toContain('member "./opt/escape/etc/passwd" is unsafe: its path goes through the symlink opt/escape -> /');
  });

  test("payload archive with a relative symlink climbing above the root", async () => {
    const error = await archiveRefusal([{ name: "./usr/lib/evil", type: "symlink", linkName: "../../../etc/shadow" }]);
    expect(error.message).toContain('member "./usr/lib/evil" is unsafe: it is a symlink to ../../../etc/shadow, which leaves the root from usr/lib');
  });

  test("payload archive with a hard link pointing outside", async () => {
    const error = await archiveRefusal([{ name: "./etc/shadow-copy", type: "hardlink", linkName: "/etc/shadow" }]);
    expect(error.message).toContain('member "./etc/shadow-copy" is unsafe: it is a hard link to /etc/shadow, an absolute path outside the archive');
  });

  test("payload archive with a device node outside /dev", async () => {
    const error = await archiveRefusal([{ name: "./tmp/sda", type: "block-device" }]);
    expect(error.message).toContain('member "./tmp/sda" is unsafe: it is a block device outside /dev');
  });

  test("rootfs without a kernel", async () => {
    const error = await archiveRefusal([], { without: (entry) => entry.name.includes("vmlinuz-") });
    expect(error.message).toContain("holds no kernel: no boot/vmlinuz-KVER with a matching lib/modules/KVER or usr/lib/modules/KVER");
    expect(error.hint).toContain("Install the kernel package");
  });

  test("/boot too full to stage", async () => {
    const ws = workspaceWithRoot();
    const box = oldBox({ bootFreeBytes: 5 * MIB });
    const error = await refusal(PreflightError, ExitCode.preflight, async () => stage(box, await buildTestBundle(ws), ws));
    expect(error.message).toBe("pre-flight found 1 inhibitor(s): boot-space");
    expect(error.hint).toContain("Resolve each inhibitor as the report says");
    const check = box.checks.find((c) => c.id === "boot-space")!;
    expect(check.finding).toStartWith("5 MiB free on /boot (filesystem /boot)");
    expect(check.remedy).toStartWith("Free at least");
    expectUntouched(box);
  });

  test("the one-time entry cannot be armed after the payload was written: stage undoes everything", async () => {
    const ws = workspaceWithRoot();
    const box = oldBox();
    const error = await refusal(VerificationError, ExitCode.verification, async () => stage(box, await buildTestBundle(ws), ws));
    expect(error.message).toContain("the one-time boot entry is not armed");
    expect(box.run.calls.some((argv) => /^grub2?-reboot$/.test(argv[0]!))).toBe(true);
    expect(snapshot(box.root)).toEqual(box.before);
    expect(existsSync(join(box.root, "etc/upd"))).toBe(false);
  });

  test("wrong architecture", async () => {
    const ws = workspaceWithRoot();
    const box = oldBox({ arch: "aarch64" });
    const error = await refusal(PreflightError, ExitCode.preflight, async () => stage(box, await buildTestBundle(ws), ws));
    expect(error.message).toBe("pre-flight found 1 inhibitor(s): architecture");
    const check = box.checks.find((c) => c.id === "architecture")!;
    expect(check.finding).toBe("the machine is aarch64; the new system and the agent are built for x86_64 only");
    expect(check.remedy).toContain("reinstalling it on x86_64");
    expectUntouched(box);
  });

  for (const [name, file] of [["tiny kernel checksum mismatch", "vmlinuz"], ["tiny initramfs checksum mismatch", "initramfs-convert.img"]] as const) {
    test(name, async () => {
      const ws = workspaceWithRoot();
      const box = oldBox();
      const error = await refusal(PayloadError, ExitCode.payload, async () => stage(box, await bundleWithFlippedByte(ws, file), ws));
      expect(error.message).toContain(`${file} is corrupt: SHA-256`);
      expect(error.details.corrupt).toEqual([file]);
      expect(error.hint).toContain("Download the bundle again");
      expectUntouched(box);
    });
  }

  test("the payload disappearing between stage and migrate", async () => {
    const world = tinySystem();
    const file = join(world.staged, "va.tar.xz");
    unlinkSync(file);
    const error = await migrationRefusal(world);
    expect(error.message).toContain(`payload member va.tar.xz is missing from ${file}`);
    expect(error.hint).toContain("Stage the bundle again");
  });
});

describe("the archive lint lets a real-shaped root through", () => {
  test("merged /usr, absolute symlinks, hard links and /dev nodes pass; the kernel is found", async () => {
    const ws = workspaceWithRoot();
    const result = await lintBundledRootfs(new ZxRunner(silentLog()), await buildTestBundle(ws), { keyring: ws.keyring });
    if (result.archiveCheck !== "at-stage") throw new Error("this host has xz: the check must run at stage");
    expect(result.lint.kernels).toEqual([KVER]);
    expect(result.lint.members).toBe(goodRoot().length);
  });
});

describe("issue 13 item 14: window A stays open when the staged tiny kernel ends up in two pieces on disk", () => {
  const TWO_PIECES = "   0:        0..       3:     1000..     1003:      4:\n   1:        4..       7:     5000..     5003:      4:             last,eof\n";

  /** The old box's filesystem never finds one free run for the kernel: every extents answer is two pieces. */
  function fragmentingBox(): OldBox {
    const box = oldBox();
    box.run
      .respond((argv) => (argv[0] === "filefrag" ? { stdout: TWO_PIECES } : undefined))
      .respond((argv) => (argv[0] === "fallocate" ? (writeFileSync(argv.at(-1)!, Buffer.alloc(Number(argv[2]))), {}) : undefined))
      .respond((argv) => {
        if (!/^grub2?-reboot$/.test(argv[0]!)) return undefined;
        writeFileSync(join(box.root, "boot/grub2/grubenv"), renderGrubenv(new Map([["next_entry", argv[1]!]]), 1024));
        return {};
      });
    return box;
  }

  test("still in pieces after the rewrites: stage refuses to arm the migration boot, says how long the window would be, and undoes everything", async () => {
    const ws = workspaceWithRoot();
    const box = fragmentingBox();
    const error = await refusal(PreflightError, ExitCode.preflight, async () => stage(box, await buildTestBundle(ws), ws));
    expect(error.message).toStartWith("pre-flight found 1 inhibitor(s): staged-kernel");
    expect(error.message).toMatch(/unsafe window of about \d+ s/);
    expect(error.hint).toContain("--accept-open-window");
    expect(error.hint).toContain("nothing was changed");
    expect(box.checks.find((c) => c.id === "staged-kernel")?.severity).toBe("inhibitor");
    expect(box.run.calls.filter((argv) => argv[0] === "fallocate").length).toBeGreaterThan(1);
    expectUntouched(box);
  });

  test("accepted explicitly: the migration boot is armed and the report carries the window as a warning", async () => {
    const ws = workspaceWithRoot();
    const box = fragmentingBox();
    const result = await stageBundle(box.run, silentLog(), { bundle: await buildTestBundle(ws), root: box.root, keyring: ws.keyring, acceptOpenWindow: true, onReport: (checks) => (box.checks = checks) });
    const window = result.checks.find((c) => c.id === "staged-kernel")!;
    expect(window.severity).toBe("warning");
    expect(window.finding).toContain("no bootable path");
    expect(box.checks).toContain(window);
    expect(readFileSync(join(box.root, "boot/grub2/grubenv"), "latin1")).toContain("next_entry=");
  });
});

describe("issue 13 item 5: the payload's fstab is checked at stage, before anything is written", () => {
  const withFstab = (fstab: string) => workspaceWithRoot([...goodRoot().filter((e) => e.name !== "./etc/fstab"), { name: "./etc/fstab", body: Buffer.from(fstab) }]);

  test("an entry the new system needs that nothing creates: refused (exit 5), the old system intact", async () => {
    const ws = withFstab(`${GOOD_FSTAB}LABEL=appdata /srv/app xfs defaults 0 2\n/swapfile none swap sw 0 0\n`);
    const box = oldBox();
    const error = await refusal(PreflightError, ExitCode.preflight, async () => stage(box, await buildTestBundle(ws), ws));
    expect(error.message).toContain("payload-fstab");
    expect(error.message).toContain("LABEL=appdata (/srv/app");
    expect(error.message).toContain("/swapfile (none: swap file)");
    expect(box.checks.find((c) => c.id === "payload-fstab")?.severity).toBe("inhibitor");
    expectUntouched(box);
  });

  test("entries the new system boots without (network, noauto, nofail, swap file): a warning in the report, staging goes on", async () => {
    const ws = withFstab(`${GOOD_FSTAB}nas:/export /mnt/nas nfs defaults 0 0\n/dev/sr0 /media/cdrom iso9660 noauto,ro 0 0\nUUID=1234-ABCD /media/usb vfat nofail 0 0\n/swapfile none swap sw 0 0\n`);
    const box = oldBox();
    // goes on past the archive check to the one-time entry, which this fake box cannot arm
    await refusal(VerificationError, ExitCode.verification, async () => stage(box, await buildTestBundle(ws), ws));
    const check = box.checks.find((c) => c.id === "payload-fstab")!;
    expect(check.severity).toBe("warning");
    for (const spec of ["nas:/export", "/dev/sr0", "UUID=1234-ABCD", "/swapfile"]) expect(check.finding).toContain(spec);
  });
});


describe("issue 13 item 9: stage refuses another product's bundle and an older release, and says --insecure loudly", () => {
  /** The old box as a va-agent migration left it (record-result's /etc/va-agent/installed.json), its grub-reboot arming the entry. */
  function installedBox(product?: { name: string; release: string }): OldBox {
    const box = oldBox();
    if (product) {
      mkdirSync(join(box.root, "etc/va-agent"), { recursive: true });
      writeFileSync(join(box.root, "etc/va-agent/installed.json"), JSON.stringify({ product }));
    }
    box.run.respond((argv) => {
      if (!/^grub2?-reboot$/.test(argv[0]!)) return undefined;
      writeFileSync(join(box.root, "boot/grub2/grubenv"), renderGrubenv(new Map([["next_entry", argv[1]!]]), 1024));
      return {};
    });
    box.before = snapshot(box.root);
    return box;
  }
  const migrationEntry = (box: OldBox) => readFileSync(join(box.root, "boot/grub2/custom.cfg"), "utf8").split("\n").find((line) => line.trim().startsWith("linux "))!;

  test("a bundle for another product: refused at pre-flight (exit 5), the old system intact", async () => {
    const ws = workspaceWithRoot();
    const box = installedBox({ name: "other-appliance", release: "2.0" });
    const error = await refusal(PreflightError, ExitCode.preflight, async () => stage(box, await buildTestBundle(ws), ws));
    expect(error.message).toBe("pre-flight found 1 inhibitor(s): product-release");
    const check = box.checks.find((c) => c.id === "product-release")!;
    expect(check.finding).toBe("the bundle is for va; this appliance is other-appliance 2.0 (/etc/va-agent/installed.json)");
    expect(check.remedy).toContain("Get the other-appliance bundle");
    expectUntouched(box);
  });

  test("an older release (13.0 on 13.10): refused as a downgrade, the old system intact", async () => {
    const ws = workspaceWithRoot();
    const box = installedBox({ name: "va", release: "13.10" });
    const error = await refusal(PreflightError, ExitCode.preflight, async () => stage(box, await buildTestBundle(ws), ws));
    expect(error.message).toBe("pre-flight found 1 inhibitor(s): product-release");
    expect(box.checks.find((c) => c.id === "product-release")!.finding).toBe("the bundle's release 13.0 is older than the installed va 13.10: a downgrade");
    expect(box.checks.find((c) => c.id === "product-release")!.remedy).toContain("--allow-downgrade");
    expectUntouched(box);
  });

  test("the downgrade with --allow-downgrade: staged, and the migration entry tells the tiny system", async () => {
    const ws = workspaceWithRoot();
    const box = installedBox({ name: "va", release: "13.10" });
    await stageBundle(box.run, silentLog(), { bundle: await buildTestBundle(ws), root: box.root, keyring: ws.keyring, allowDowngrade: true, onReport: (checks) => (box.checks = checks) });
    expect(box.checks.find((c) => c.id === "product-release")).toMatchObject({ severity: "ok", finding: "va 13.10 → 13.0: a DOWNGRADE, allowed by --allow-downgrade" });
    expect(migrationEntry(box).split(" ")).toContain("va.allow-downgrade");
    expect(migrationEntry(box).split(" ")).not.toContain("va.insecure");
  });

  test("the same or a newer release, and a box va-agent never installed: staged, no exception on the entry", async () => {
    for (const installed of [{ name: "va", release: "13.0" }, { name: "va", release: "12.9" }, undefined]) {
      const ws = workspaceWithRoot();
      const box = installedBox(installed);
      await stage(box, await buildTestBundle(ws), ws);
      expect(box.checks.find((c) => c.id === "product-release")?.severity).toBe("ok");
      expect(migrationEntry(box)).not.toMatch(/va\.(allow-downgrade|insecure)/);
    }
  });

  test("stage --insecure on an unsigned bundle: the warning between bars on the log, on stdout, in --json; the entry carries va.insecure", async () => {
    const ws = workspaceWithRoot();
    const head = await signedHead(ws);
    const bundle = writeRawTar(join(ws.dir, "unsigned.tar"), [head.entries[0]!, ...memberEntries(ws)]);
    const box = installedBox();
    const { log, lines } = captureLog();
    const result = await stageBundle(box.run, log, { bundle, root: box.root, keyring: ws.keyring, insecure: true, onReport: (checks) => (box.checks = checks) });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toStartWith("INSECURE: the bundle's signature was NOT verified (--insecure)");
    const shouted = lines.findIndex((line) => line.includes(result.warnings[0]!));
    expect(shouted).toBeGreaterThan(0);
    for (const around of [lines[shouted - 1]!, lines[shouted + 1]!]) expect(around).toContain("!".repeat(72));
    expect(migrationEntry(box).split(" ")).toContain("va.insecure");

    const cli = { bundle, insecure: true, keyring: ws.keyring, reboot: false, allowDowngrade: false, acceptOpenWindow: false };
    const jsonBox = installedBox();
    const json = await captureStdout(() => stageCommand({ ...cli, root: jsonBox.root, json: true }, jsonBox.run, silentLog()));
    expect(json.result).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ staged: true, warnings: [result.warnings[0]] });
    const textBox = installedBox();
    const text = await captureStdout(() => stageCommand({ ...cli, root: textBox.root, json: false }, textBox.run, silentLog()));
    expect(text.stdout).toContain(`WARNING: ${result.warnings[0]}`);
  });

  test("stage --insecure --json that fails later still carries the warning", async () => {
    const ws = workspaceWithRoot();
    const head = await signedHead(ws);
    const bundle = writeRawTar(join(ws.dir, "unsigned.tar"), [head.entries[0]!, ...memberEntries(ws)]);
    const box = installedBox({ name: "other-appliance", release: "1" });
    const json = await captureStdout(() => stageCommand({ bundle, root: box.root, json: true, insecure: true, keyring: ws.keyring, reboot: false, allowDowngrade: false, acceptOpenWindow: false }, box.run, silentLog()));
    expect(json.result).toBe(ExitCode.preflight);
    const report = JSON.parse(json.stdout);
    expect(report.staged).toBe(false);
    expect(report.warnings[0]).toStartWith("INSECURE: the bundle's signature was NOT verified");
    expectUntouched(box);
  });
});
