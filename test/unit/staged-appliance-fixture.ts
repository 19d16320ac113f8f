// The tiny system's first boot on an old appliance: the old root (mounted read-only by the agent,
// here a temp dir at both the probe and the old-root mountpoint) holds a bundle staged as `stage`
// leaves it: manifest.json, manifest.json.sig signed by the vendor key, the members.
import { createHash, createPrivateKey } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signManifest } from "../../agent/bundle/signature.ts";
import type { StagedTrust } from "../../agent/manifest/staged-trust.ts";
import { defaultPaths, type Paths } from "../../agent/paths.ts";
import { INSTALLED_PRODUCT_FILE } from "../../agent/product/installed-product.ts";
import { generateSigningKeys, type SigningKeys } from "../../build/keygen.ts";
import { FakeRunner } from "./fake-runner.ts";
import { manifestDocument } from "./fixtures/shapes.ts";

export const STAGING = "/opt/va-staging";
const DISK = "/dev/vda";
const ROOT_LV = "/dev/mapper/centos-root";
const TABLE = readFileSync(join(import.meta.dir, "fixtures/va-6g.sgdisk"));

const ref = (data: string | Buffer, file: string) => ({ file, bytes: Buffer.byteLength(data), sha256: createHash("sha256").update(data).digest("hex") });

export interface StagedBundle {
  document: Record<string, unknown>;
  members: Record<string, string | Buffer>;
}

/** A manifest staged in a non-default directory, with its members. */
export function stagedBundle(stagingDir = STAGING): StagedBundle {
  const members: Record<string, string | Buffer> = { "va.tar.xz": "pretend rootfs", vmlinuz: "tiny kernel", "initramfs.img": "tiny initramfs", "va.sgdisk": TABLE };
  const document = manifestDocument();
  (document.payload as Record<string, unknown>) = { rootfs: { ...ref(members["va.tar.xz"]!, "va.tar.xz"), compression: "xz" }, stagingDir };
  (document.target as Record<string, unknown>).partitionTable = ref(TABLE, "va.sgdisk");
  document.tinySystem = { kernel: ref(members.vmlinuz!, "vmlinuz"), initramfs: ref(members["initramfs.img"]!, "initramfs.img") };
  return { document, members };
}

export interface TinySystemOnOldAppliance {
  paths: Paths;
  run: FakeRunner;
  /** The tiny system's keyring (in the initramfs) trusts the vendor key, and stage made no exceptions. */
  trust: StagedTrust;
  vendor: SigningKeys;
  /** The staging directory on the old root, as the agent sees it mounted. */
  stagedDirs: string[];
}

export interface StagedAs {
  /** Who signed the manifest: the vendor (default), another key, or nobody (no manifest.json.sig). */
  signedBy?: "vendor" | "other" | "nobody";
  /** The old system's /etc/va-agent/installed.json, as text; none when undefined. */
  installed?: string;
}

export function tinySystemOnOldAppliance(stagedAt: string, bundle = stagedBundle(), as: StagedAs = {}): TinySystemOnOldAppliance {
  const base = mkdtempSync(join(tmpdir(), "va-staging-"));
  const paths = defaultPaths(join(base, "run"), "/sysimage");
  const vendor = generateSigningKeys(join(base, "vendor"));
  const keyring = join(base, "initramfs/etc/va-agent/keys");
  mkdirSync(keyring, { recursive: true });
  writeFileSync(join(keyring, "vendor.pub"), readFileSync(vendor.publicKeyFile));
  const manifestBytes = Buffer.from(JSON.stringify(bundle.document));
  const signer = as.signedBy === "other" ? generateSigningKeys(join(base, "other")) : vendor;
  const signature = signManifest(manifestBytes, createPrivateKey(readFileSync(signer.privateKeyFile)));
  const stagedDirs: string[] = [];
  for (const mountpoint of [paths.probeMount, paths.oldRootMount]) {
    const dir = join(mountpoint, stagedAt);
    mkdirSync(join(mountpoint, "etc"), { recursive: true });
    writeFileSync(join(mountpoint, "etc/os-release"), 'ID=centos\nPRETTY_NAME="CentOS Linux 7 (Core)"\n');
    if (as.installed !== undefined) {
      mkdirSync(join(mountpoint, "etc/va-agent"), { recursive: true });
      writeFileSync(join(mountpoint, INSTALLED_PRODUCT_FILE), as.installed);
    }
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "manifest.json"), manifestBytes);
    if (as.signedBy !== "nobody") writeFileSync(join(dir, "manifest.json.sig"), signature);
    for (const [name, data] of Object.entries(bundle.members)) writeFileSync(join(dir, name), data);
    stagedDirs.push(dir);
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
  return { paths, run, trust: { keyring, insecure: false, allowDowngrade: false }, vendor, stagedDirs };
}
