import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrationMenuEntry, type OldBootloader } from "../../agent/bootloader/one-time-boot.ts";
import { ManifestError } from "../../agent/errors/errors.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { stagingDirToSearch } from "../../agent/manifest/staging-dir.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { loadPayload } from "../../agent/steps/load-payload.ts";
import { prepare } from "../../agent/workflow/prepare.ts";
import { FakeRunner } from "./fake-runner.ts";
import { manifestDocument } from "./fixtures/shapes.ts";

const STAGING = "/opt/va-staging";
const DISK = "/dev/vda";
const ROOT_LV = "/dev/mapper/centos-root";

const ref = (data: string | Buffer, file: string) => ({ file, bytes: Buffer.byteLength(data), sha256: createHash("sha256").update(data).digest("hex") });
const TABLE = readFileSync(join(import.meta.dir, "fixtures/va-6g.sgdisk"));

/** A manifest staged in a non-default directory, with its members. */
function stagedBundle(stagingDir = STAGING) {
  const members: Record<string, string | Buffer> = { "va.tar.xz": "pretend rootfs", vmlinuz: "tiny kernel", "initramfs.img": "tiny initramfs", "va.sgdisk": TABLE };
  const document = manifestDocument();
  (document.payload as Record<string, unknown>) = { rootfs: { ...ref(members["va.tar.xz"]!, "va.tar.xz"), compression: "xz" }, stagingDir };
  (document.target as Record<string, unknown>).partitionTable = ref(TABLE, "va.sgdisk");
  document.tinySystem = { kernel: ref(members.vmlinuz!, "vmlinuz"), initramfs: ref(members["initramfs.img"]!, "initramfs.img") };
  return { document, members };
}

/** The tiny system's first boot on an old appliance whose root (mounted read-only by the agent) holds the staged bundle at `stagedAt`. */
function tinySystemOnOldAppliance(stagedAt: string, bundle = stagedBundle()) {
  const paths = defaultPaths(join(mkdtempSync(join(tmpdir(), "va-staging-")), "run"), "/sysimage");
  for (const mountpoint of [paths.probeMount, paths.oldRootMount]) {
    const dir = join(mountpoint, stagedAt);
    mkdirSync(join(mountpoint, "etc"), { recursive: true });
    writeFileSync(join(mountpoint, "etc/os-release"), 'ID=centos\nPRETTY_NAME="CentOS Linux 7 (Core)"\n');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(bundle.document));
    for (const [name, data] of Object.entries(bundle.members)) writeFileSync(join(dir, name), data);
  }
  const lsblk = {
    blockdevices: [
      { path: DISK, type: "disk", size: 8 * 1024 ** 3, fstype: null, pkname: null, tran: "virtio" },
      { path: `${DISK}1`, type: "part", size: 1024 ** 3, fstype: "vfat", pkname: DISK },
      { path: `${DISK}2`, type: "part", size: 7 * 1024 ** 3, fstype: "LVM2_member", pkname: DISK },
      { path: ROOT_LV, type: "lvm", size: 6 * 1024 ** 3, fstype: "ext4", pkname: `${DISK}2` },
    ],
  };
  const run = new FakeRunner()
    .respond((argv) => (argv[0] === "lsblk" ? { stdout: JSON.stringify(lsblk) } : undefined))
    .respond((argv) => (argv[0] === "lvm" && argv[1] === "lvs" ? { stdout: "" } : undefined))
    .respond((argv) => (argv[0] === "lvm" && argv[1] === "pvs" ? { stdout: JSON.stringify({ report: [{ pv: [{ pv_name: `${DISK}2`, vg_name: "centos" }] }] }) } : undefined))
    .respond((argv) => (argv[0] === "mount" && argv.at(-1)?.endsWith("/resume") ? { status: 32 } : undefined))
    .respond((argv) => (argv[0] === "findmnt" ? { status: 1 } : undefined))
    .respond((argv) => (argv[0] === "filefrag" ? { status: 1, stderr: "no FIEMAP here" } : undefined));
  return { paths, run };
}

const oldBootloader: OldBootloader = {
  grubDir: "/boot/grub2",
  rebootTool: "grub2-reboot",
  mkconfigTool: "grub2-mkconfig",
  bootFsUuid: "1111-2222",
  bootIsSeparate: true,
  consoles: ["console=ttyS0"],
};

describe("issue 13 item 12: payload.stagingDir is honoured by the tiny system", () => {
  test("the one-time migration entry tells the tiny system where the manifest's stagingDir is", () => {
    const manifest = parseManifest(stagedBundle().document);
    const entry = migrationMenuEntry(oldBootloader, manifest);
    const linux = entry.split("\n").find((line) => line.trim().startsWith("linux "))!;
    expect(linux.split(" ")).toContain(`va.staging=${STAGING}`);
    expect(stagingDirToSearch(undefined, linux)).toBe(STAGING);
    expect(stagingDirToSearch("/srv/by-hand", linux)).toBe("/srv/by-hand");
    expect(stagingDirToSearch(undefined, "console=ttyS0 va.mode=migrate")).toBe("/etc/upd");
  });

  test("prepare and load-payload read the staged bundle from the manifest's stagingDir in every command and copy", async () => {
    const { paths, run } = tinySystemOnOldAppliance(STAGING);
    const { manifest, plan } = await prepare(run, silentLog(), paths, stagingDirToSearch(undefined, `va.staging=${STAGING}`));
    expect(manifest.payload.stagingDir).toBe(STAGING);
    await loadPayload.run({ manifest, plan, paths, run, log: silentLog() });
    for (const file of ["va.tar.xz", "vmlinuz", "initramfs.img", "va.sgdisk", "manifest.json"]) {
      expect(existsSync(join(paths.payloadDir, file))).toBe(true);
    }
    expect(readFileSync(join(paths.payloadDir, "va.tar.xz"), "utf8")).toBe("pretend rootfs");
    const stagedPaths = run.calls.flat().filter((arg) => arg.includes(paths.oldRootMount) && arg !== paths.oldRootMount);
    expect(stagedPaths.length).toBeGreaterThan(0);
    for (const arg of stagedPaths) expect(arg.startsWith(join(paths.oldRootMount, STAGING))).toBe(true);
    expect(run.calls.flat().some((arg) => arg.includes("/etc/upd"))).toBe(false);
  });

  test("a manifest found somewhere other than where it says it is staged is refused before anything is written", async () => {
    const { paths, run } = tinySystemOnOldAppliance("/etc/upd");
    const refusal = await prepare(run, silentLog(), paths, "/etc/upd").catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ManifestError);
    expect((refusal as Error).message).toContain(`says the payload is staged in ${STAGING}`);
    expect(run.calls.some((argv) => ["wipefs", "sgdisk", "pvcreate", "mkfs.ext4"].includes(argv[0]!))).toBe(false);
  });

  test("a stagingDir the kernel command line cannot carry is refused in the manifest", () => {
    for (const bad of ["/opt/my upd", "/opt/'upd'", "/opt/../etc", "/"]) {
      expect(() => parseManifest(stagedBundle(bad).document)).toThrow(/payload\.stagingDir/);
    }
  });
});
