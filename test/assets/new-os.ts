// Test assets of the NEW OS (Debian 13 trixie): unpacked root (also the sysroot for build.ts),
// payload tarballs, reference partition layout, and the tiny system's kernel + stock initramfs.
// See docs/CONTRACTS.md. All assets are cached outside the repo (test/assets/cache.ts).
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot, cachedAsset } from "./cache.ts";
import { capture, chroot, ensureHostPackages, requireRoot, run, sha256File, withChrootMounts } from "./host.ts";

/** UUID of the /boot filesystem written into the new root's fstab (the agent sets it on mkfs/tune2fs). */
export const NEW_OS_BOOT_UUID = "2f0a5c3e-7d1b-4e8a-9c6f-0b1d2e3f4a5b";
export const NEW_OS_SUITE = "trixie";
export const NEW_OS_HOSTNAME = "va-new";
export const NEW_OS_ROOT_PASSWORD = "va-new-root";
/** Size of the reference layout disk (va.sgdisk). */
export const LAYOUT_BYTES = 6 * 1024 ** 3;

export interface NewOs {
  rootDir: string;
  payloadXz: string;
  payloadZst: string;
  sgdisk: string;
  layoutBytes: number;
  kernel: string;
  kver: string;
  stockInitramfs: string;
  bootUuid: string;
  payloadBytes: { xz: number; zst: number };
  payloadSha256: { xz: string; zst: string };
}

const HERE = import.meta.dir;
const FILES_DIR = join(HERE, "new-os");
const FILES = ["configure.sh", "fstab", "grub.default", "dracut-10-va.conf", "va-probe", "va-probe.service"];

export const NEW_OS_PACKAGES = [
  "linux-image-amd64", "systemd", "systemd-sysv", "udev", "dbus", "lvm2", "grub-pc",
  "e2fsprogs", "xfsprogs", "gdisk", "util-linux", "mount", "tar", "xz-utils", "zstd", "bash",
  "coreutils", "kmod", "iproute2", "ifupdown", "procps", "passwd", "login",
];

const HOST_PACKAGES = ["debootstrap", "gdisk", "tar", "xz-utils", "zstd", "coreutils", "util-linux"];

function fileText(name: string): string {
  return readFileSync(join(FILES_DIR, name), "utf8");
}

async function buildRoot(): Promise<string> {
  const recipe = [
    "new-os-root v1",
    `debootstrap --variant=minbase --include=${NEW_OS_PACKAGES.join(",")} ${NEW_OS_SUITE}`,
    `bootUuid=${NEW_OS_BOOT_UUID}`,
    ...FILES.map((f) => `${f}\n${fileText(f)}`),
  ];
  const dir = await cachedAsset("new-os-root", recipe, async (tmp) => {
    const root = join(tmp, "root");
    // Downloaded .debs are kept between builds (outside the recipe: they do not change the result).
    const debs = join(cacheRoot(), `debootstrap-debs-${NEW_OS_SUITE}`);
    mkdirSync(debs, { recursive: true });
    await run(["debootstrap", `--cache-dir=${debs}`, "--variant=minbase", `--include=${NEW_OS_PACKAGES.join(",")}`, NEW_OS_SUITE, root]);
    const staged = join(root, "tmp/va-files");
    mkdirSync(staged, { recursive: true });
    for (const f of FILES) {
      const text = fileText(f).replaceAll("@BOOT_UUID@", NEW_OS_BOOT_UUID);
      writeFileSync(join(staged, f), text, { mode: 0o644 });
    }
    await withChrootMounts(root, () => chroot(root, ["/bin/bash", "/tmp/va-files/configure.sh"]));
    const images = readdirSync(join(root, "boot")).filter((f) => /^(initrd\.img|initramfs)-/.test(f));
    if (images.length !== 1) throw new Error(`expected exactly the generic initramfs in /boot, found: ${images.join(", ") || "none"}`);
  });
  return join(dir, "root");
}

function kverOf(rootDir: string): string {
  const kvers = readdirSync(join(rootDir, "lib/modules")).filter((k) => existsSync(join(rootDir, "boot", `vmlinuz-${k}`)));
  if (kvers.length !== 1) throw new Error(`expected one kernel in ${rootDir}, found: ${kvers.join(", ") || "none"}`);
  return kvers[0]!;
}

interface PayloadInfo {
  bytes: { xz: number; zst: number };
  sha256: { xz: string; zst: string };
}

const TAR_ARGS = [
  "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls",
  "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "--exclude=./run/*", "--exclude=./tmp/*",
];

async function buildPayload(rootDir: string): Promise<{ dir: string; info: PayloadInfo }> {
  const recipe = ["new-os-payload v1", `root=${rootDir}`, `tar ${TAR_ARGS.join(" ")}`, "xz -T2 -6", "zstd -T2 -9"];
  const dir = await cachedAsset("new-os-payload", recipe, async (tmp) => {
    const tarFile = join(tmp, "va.tar");
    await run(["tar", ...TAR_ARGS, "-C", rootDir, "-cf", tarFile, "."]);
    await run(["xz", "-T2", "-6", "-k", "-z", tarFile]);
    await run(["zstd", "-T2", "-9", "-q", tarFile, "-o", join(tmp, "va.tar.zst")]);
    await run(["rm", "-f", tarFile]);
    const xz = await sha256File(join(tmp, "va.tar.xz"));
    const zst = await sha256File(join(tmp, "va.tar.zst"));
    const info: PayloadInfo = { bytes: { xz: xz.bytes, zst: zst.bytes }, sha256: { xz: xz.sha256, zst: zst.sha256 } };
    writeFileSync(join(tmp, "payload.json"), JSON.stringify(info, null, 2) + "\n");
  });
  return { dir, info: JSON.parse(readFileSync(join(dir, "payload.json"), "utf8")) as PayloadInfo };
}

const SGDISK_ARGS = [
  "-o",
  "-n", "1:2048:+2M", "-c", "1:biosboot", "-t", "1:EF02",
  "-n", "2:0:+1G", "-c", "2:boot", "-t", "2:8300",
  "-n", "3:0:0", "-c", "3:lvm", "-t", "3:8E00",
];

async function buildLayout(): Promise<string> {
  const recipe = ["new-os-layout v1", `bytes=${LAYOUT_BYTES}`, `sgdisk ${SGDISK_ARGS.join(" ")}`];
  const dir = await cachedAsset("new-os-layout", recipe, async (tmp) => {
    const img = join(tmp, "layout.img");
    await run(["truncate", "-s", String(LAYOUT_BYTES), img]);
    await run(["sgdisk", ...SGDISK_ARGS, img]);
    await run(["sgdisk", `--backup=${join(tmp, "va.sgdisk")}`, img]);
    writeFileSync(join(tmp, "layout.txt"), await capture(["sgdisk", "-p", img]));
    await run(["rm", "-f", img]);
  });
  return join(dir, "va.sgdisk");
}

const STOCK_DRACUT_ARGS = ["--no-hostonly", "-a", "systemd lvm dm", "--force"];

async function buildTiny(rootDir: string, kver: string): Promise<string> {
  const recipe = ["new-os-tiny v2", `root=${rootDir}`, `kver=${kver}`, `dracut ${STOCK_DRACUT_ARGS.join(" ")}`];
  return cachedAsset("new-os-tiny", recipe, async (tmp) => {
    copyFileSync(join(rootDir, "boot", `vmlinuz-${kver}`), join(tmp, `vmlinuz-${kver}`));
    const inRoot = "/tmp/initramfs-stock.img";
    await withChrootMounts(rootDir, () =>
      chroot(rootDir, ["dracut", ...STOCK_DRACUT_ARGS, "--kver", kver, inRoot]),
    );
    // Same filesystem (both in the cache root): a rename.
    renameSync(join(rootDir, inRoot), join(tmp, "initramfs-stock.img"));
    chmodSync(join(tmp, "initramfs-stock.img"), 0o644);
    writeFileSync(join(tmp, "kver"), kver + "\n");
  });
}

/** Builds (or reuses from the cache) every new-OS asset and returns their paths. */
export async function buildNewOs(): Promise<NewOs> {
  requireRoot();
  await ensureHostPackages(HOST_PACKAGES);
  const rootDir = await buildRoot();
  const kver = kverOf(rootDir);
  const payload = await buildPayload(rootDir);
  const tinyDir = await buildTiny(rootDir, kver);
  const sgdisk = await buildLayout();
  const result: NewOs = {
    rootDir,
    payloadXz: join(payload.dir, "va.tar.xz"),
    payloadZst: join(payload.dir, "va.tar.zst"),
    sgdisk,
    layoutBytes: LAYOUT_BYTES,
    kernel: join(tinyDir, `vmlinuz-${kver}`),
    kver,
    stockInitramfs: join(tinyDir, "initramfs-stock.img"),
    bootUuid: NEW_OS_BOOT_UUID,
    payloadBytes: payload.info.bytes,
    payloadSha256: payload.info.sha256,
  };
  for (const p of [result.payloadXz, result.payloadZst, result.sgdisk, result.kernel, result.stockInitramfs]) {
    if (!existsSync(p) || statSync(p).size === 0) throw new Error(`asset missing or empty: ${p}`);
  }
  return result;
}
