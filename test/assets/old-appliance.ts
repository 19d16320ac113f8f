// The OLD appliance test fixture: a Debian 11 (bullseye) system installed the way CentOS 7 installs
// itself (MBR, /boot xfs 1 GiB, VG "centos" with LVs swap + root on xfs), built INSIDE a QEMU guest by
// the harness's own script (test/assets/old-appliance/build-appliance), then proven to boot by itself
// (SeaBIOS -> GRUB in the MBR -> bullseye -> va-test-hook) before it is committed to the cache.
// See docs/CONTRACTS.md.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { cachedAsset } from "./cache.ts";
import { capture, ensureHostPackages, requireRoot, run, sha256File, withChrootMounts, chroot } from "./host.ts";
import { startVm, waitExit } from "../e2e/qemu.ts";

export const OLD_SUITE = "bullseye";
export const OLD_DISK_BYTES = 6 * 1024 ** 3;
export const OLD_MAC = "52:54:00:12:34:56";
export const OLD_IFACE = "lan0";
export const OLD_HOSTNAME = "va-old";
export const OLD_ROOT_PASSWORD = "va-old-root";
export const OLD_ADMIN_PASSWORD = "va-admin";
/** Label of the "command disk" the old system's va-test-hook.service runs run.sh from. */
export const COMMAND_DISK_LABEL = "VATESTCMD";

export const OLD_PACKAGES = [
  "linux-image-amd64", "grub-pc", "lvm2", "xfsprogs", "initramfs-tools", "systemd-sysv", "udev",
  "ifupdown", "iproute2", "sudo", "passwd", "login", "e2fsprogs", "fdisk", "procps", "kmod",
  "util-linux", "mount",
];

const HOST_PACKAGES = ["debootstrap", "qemu-system-x86", "qemu-utils", "e2fsprogs", "coreutils", "util-linux"];

const HERE = import.meta.dir;
const FILES_DIR = join(HERE, "old-appliance");

export interface OldDataFile {
  path: string;
  /** permission bits as an octal string, e.g. "0640" */
  mode: string;
  uid: number;
  gid: number;
  sha256: string;
  bytes: number;
}

export interface OldFacts {
  hostname: string;
  mac: string;
  ifaceName: string;
  address: string;
  prefix: number;
  gateway: string;
  dns: string[];
  search: string[];
  /** SHA-512 crypt hashes from /etc/shadow */
  rootHash: string;
  adminHash: string;
  dataFiles: OldDataFile[];
  disk: {
    bytes: number;
    format: "qcow2";
    label: "dos";
    bootFs: "xfs" | "ext4";
    rootFs: "xfs";
    vg: "centos";
    lvs: { name: string; bytes: number }[];
    bootUuid: string;
    bootDevice: string;
    rootDevice: string;
  };
  kernel: string;
  /** what the self-boot proof saw (seconds since VM start) */
  selfBoot: { grubAt: number; kernelAt: number; hookAt: number; poweredOffAt: number };
}

export interface OldAppliance {
  diskImage: string;
  facts: OldFacts;
  dir: string;
}

function guestFiles(): string[] {
  return readdirSync(FILES_DIR).sort();
}

// ---------------------------------------------------------------- command disk

export interface CommandDiskOptions {
  /** extra files to put on the disk: name on the disk -> host path */
  files?: Record<string, string>;
  /** what va-test-hook does after run.sh returned */
  then?: "poweroff" | "reboot" | "nothing";
  /** run again on every boot even when it already started once */
  rerun?: boolean;
  sizeMiB?: number;
  /** filesystem label (default VATESTCMD, what the old system's hook looks for; the new system's probe looks for VASLOTCMD) */
  label?: string;
}

/**
 * Creates an ext4 image labelled VATESTCMD holding run.sh (`script`, run with bash by the old
 * system's va-test-hook.service once per disk), plus optional files. Attach it as a raw disk.
 */
export async function makeCommandDisk(path: string, script: string, opts: CommandDiskOptions = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "va-cmd-"));
  try {
    writeFileSync(join(dir, "run.sh"), script, { mode: 0o755 });
    let bytes = script.length;
    for (const [name, src] of Object.entries(opts.files ?? {})) {
      const dst = join(dir, name);
      mkdirSync(join(dst, ".."), { recursive: true });
      copyFileSync(src, dst);
      await run(["chmod", "--reference", src, dst]);
      bytes += statSync(src).size;
    }
    if (opts.then && opts.then !== "nothing") writeFileSync(join(dir, "then"), `${opts.then}\n`);
    if (opts.rerun) writeFileSync(join(dir, "rerun"), "\n");
    const sizeMiB = opts.sizeMiB ?? Math.max(64, Math.ceil((bytes * 1.2) / 2 ** 20) + 32);
    rmSync(path, { force: true });
    await run(["mkfs.ext4", "-q", "-F", "-L", opts.label ?? COMMAND_DISK_LABEL, "-E", "root_owner=0:0", "-d", dir, path, `${sizeMiB}M`]);
    return path;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function debugfsCat(image: string, file: string): Promise<string | null> {
  const stat = await capture(["debugfs", "-R", `stat ${file}`, image], { nothrow: true });
  if (!/Inode:/.test(stat)) return null;
  return capture(["debugfs", "-R", `cat ${file}`, image], { nothrow: true });
}

/** Reads what va-test-hook left on a command disk (no mount needed). */
export async function readCommandDisk(path: string): Promise<{ output: string; exitCode: number | null; started: boolean }> {
  const output = (await debugfsCat(path, "/output.log")) ?? "";
  const ec = await debugfsCat(path, "/exit-code");
  const started = (await debugfsCat(path, "/started")) !== null;
  const exitCode = ec !== null && /^\s*\d+\s*$/.test(ec) ? Number(ec.trim()) : null;
  return { output, exitCode, started };
}

// ---------------------------------------------------------------- build

function shadowHash(root: string, user: string): string {
  const line = readFileSync(join(root, "etc/shadow"), "utf8").split("\n").find((l) => l.startsWith(`${user}:`));
  const hash = line?.split(":")[1];
  if (!hash || !hash.startsWith("$6$")) throw new Error(`no SHA-512 hash for ${user} in shadow: ${hash}`);
  return hash;
}

async function dataFiles(root: string): Promise<OldDataFile[]> {
  const out: OldDataFile[] = [];
  const walk = async (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = `${rel}/${name}`;
      const st = statSync(join(root, r));
      if (st.isDirectory()) await walk(r);
      else if (st.isFile()) {
        const h = await sha256File(join(root, r));
        out.push({ path: r, mode: "0" + (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid, sha256: h.sha256, bytes: h.bytes });
      }
    }
  };
  await walk("/srv/appdata"); // paths as seen in the guest
  return out;
}

async function buildBaseRoot(): Promise<string> {
  const recipe = [
    "old-appliance-debootstrap v1",
    `debootstrap --variant=minbase --include=${OLD_PACKAGES.join(",")} ${OLD_SUITE}`,
  ];
  return cachedAsset("old-appliance-debootstrap", recipe, async (tmp) => {
    await run(["debootstrap", "--variant=minbase", `--include=${OLD_PACKAGES.join(",")}`, OLD_SUITE, join(tmp, "root")]);
  });
}

function log(line: string): void {
  process.stderr.write(`[old-appliance] ${line}\n`);
}

async function buildInto(tmp: string, base: string): Promise<void> {
  const root = join(tmp, "root");
  const logs = join(tmp, "logs");
  mkdirSync(logs, { recursive: true });
  const t0 = performance.now();
  const el = () => `${((performance.now() - t0) / 1000).toFixed(0)}s`;

  await run(["cp", "-a", join(base, "root"), root]);
  await run(["bash", join(FILES_DIR, "configure-root.sh"), root]);
  const kernels = readdirSync(join(root, "boot")).filter((f) => f.startsWith("vmlinuz-"));
  if (kernels.length !== 1) throw new Error(`expected one kernel in the old root, found ${kernels.join(",")}`);
  const kver = kernels[0]!.slice("vmlinuz-".length);
  // Make sure the builder's initrd exists and carries what the builder VM needs (virtio, ext4).
  const haveInitrd = existsSync(join(root, "boot", `initrd.img-${kver}`));
  await withChrootMounts(root, () => chroot(root, ["update-initramfs", haveInitrd ? "-u" : "-c", "-k", kver]));
  const kernel = join(tmp, "vmlinuz");
  const initrd = join(tmp, "initrd.img");
  copyFileSync(join(root, "boot", `vmlinuz-${kver}`), kernel);
  copyFileSync(join(root, "boot", `initrd.img-${kver}`), initrd);

  const facts0 = {
    rootHash: shadowHash(root, "root"),
    adminHash: shadowHash(root, "admin"),
    dataFiles: await dataFiles(root),
  };
  log(`configured root (${el()})`);

  const builderImg = join(tmp, "builder.img");
  await run(["mkfs.ext4", "-q", "-F", "-L", "vabuilder", "-d", root, builderImg, "3G"]);
  rmSync(root, { recursive: true, force: true });
  const disk = join(tmp, "disk.qcow2");
  await run(["qemu-img", "create", "-q", "-f", "qcow2", disk, String(OLD_DISK_BYTES)]);
  log(`packed builder image (${el()})`);

  // 1. Install inside a guest.
  const b = startVm({
    name: "old-appliance-builder",
    disks: [
      { path: disk, format: "qcow2", bus: "virtio" },
      { path: builderImg, format: "raw", bus: "virtio" },
    ],
    kernel,
    initrd,
    append: "root=/dev/vdb rw rootfstype=ext4 init=/usr/local/sbin/build-appliance console=ttyS0 panic=-1",
    noReboot: true,
    serialLog: join(logs, "build.serial.log"),
  });
  const r = await b.waitFor(/VA-BUILD-(OK-7c1f|FAILED)/, 45 * 60, { stallSec: 15 * 60 }).catch(async (e) => {
    await b.kill();
    throw e;
  });
  if (r.match[1] !== "OK-7c1f") {
    await b.kill();
    throw new Error(`guest build failed; see ${b.serialLog}:\n${b.tail(40)}`);
  }
  await waitExit(b, 120);
  rmSync(builderImg, { force: true });
  log(`guest install done (${el()})`);

  // 2. Prove it boots by itself: SeaBIOS -> GRUB (MBR) -> bullseye -> va-test-hook.
  const cmd = join(tmp, "selftest-cmd.img");
  await makeCommandDisk(cmd, readFileSync(join(FILES_DIR, "selftest-run.sh"), "utf8"), { then: "poweroff" });
  const v = startVm({
    name: "old-appliance-selftest",
    disks: [
      { path: disk, format: "qcow2", bus: "virtio" },
      { path: cmd, format: "raw", bus: "virtio" },
    ],
    nic: { mac: OLD_MAC },
    noReboot: true,
    serialLog: join(logs, "selfboot.serial.log"),
  });
  let sb: OldFacts["selfBoot"];
  try {
    await v.waitFor(/GNU GRUB\s+version 2\.\S+/, 300);
    const grub = await v.waitFor(/Loading Linux \S+/, 300);
    const kern = await v.waitFor(/Linux version 5\.10\S*/, 300);
    const hook = await v.waitFor(/VA-TEST-HOOK: running/, 900);
    await v.waitFor(/VA-FACTS-END/, 300);
    await v.waitFor(/VA-TEST-HOOK: run\.sh exit code 0/, 120);
    const off = await v.waitFor(/reboot: Power down/, 300);
    sb = { grubAt: grub.seconds, kernelAt: kern.seconds, hookAt: hook.seconds, poweredOffAt: off.seconds };
    log(`self-boot: GRUB ${grub.seconds}s, kernel ${kern.seconds}s, hook ${hook.seconds}s, power-off ${off.seconds}s`);
  } catch (e) {
    await v.kill();
    throw e;
  }
  const code = await waitExit(v, 60);
  if (code !== 0) throw new Error(`self-boot VM exited with ${code}`);
  const res = await readCommandDisk(cmd);
  writeFileSync(join(logs, "selfboot.output.log"), res.output);
  if (res.exitCode !== 0) throw new Error(`self-boot run.sh exit code ${res.exitCode}`);
  const out = res.output;
  const must = (re: RegExp, what: string) => {
    const m = out.match(re);
    if (!m) throw new Error(`self-boot facts: ${what} not found (${re}) in:\n${out}`);
    return m;
  };
  must(/^HOSTNAME=va-old$/m, "hostname");
  must(/lan0\s+inet 192\.0\.2\.10\/24/, "address on lan0");
  must(/default via 192\.0\.2\.1 dev lan0/, "default route");
  must(/^\s*centos\s+root\s/m, "LV centos/root");
  must(/^\s*centos\s+swap\s/m, "LV centos/swap");
  must(/^\/dev\/mapper\/centos-root\s+xfs\s+\/$/m, "root on centos-root xfs");
  must(/^\/dev\/vda1\s+xfs\s+\/boot$/m, "/boot on vda1 xfs");
  must(/^label: dos$/m, "dos label");
  const bootUuid = must(/^BOOT_UUID=(\S+)$/m, "boot uuid")[1]!;
  const kernelSeen = must(/^KERNEL=(\S+)$/m, "kernel")[1]!;
  const lvs = [...out.matchAll(/^\s*centos\s+(\S+)\s+(\d+)\s/gm)].map((m) => ({ name: m[1]!, bytes: Number(m[2]) }));
  if (lvs.find((l) => l.name === "swap")?.bytes !== 256 * 2 ** 20) throw new Error(`swap LV is not 256 MiB: ${JSON.stringify(lvs)}`);

  const facts: OldFacts = {
    hostname: OLD_HOSTNAME,
    mac: OLD_MAC,
    ifaceName: OLD_IFACE,
    address: "192.0.2.10",
    prefix: 24,
    gateway: "192.0.2.1",
    dns: ["192.0.2.53"],
    search: ["example.test"],
    rootHash: facts0.rootHash,
    adminHash: facts0.adminHash,
    dataFiles: facts0.dataFiles,
    disk: {
      bytes: OLD_DISK_BYTES,
      format: "qcow2",
      label: "dos",
      bootFs: "xfs",
      rootFs: "xfs",
      vg: "centos",
      lvs,
      bootUuid,
      bootDevice: "/dev/vda1",
      rootDevice: "/dev/mapper/centos-root",
    },
    kernel: kernelSeen,
    selfBoot: sb,
  };
  if (kernelSeen !== kver) throw new Error(`booted kernel ${kernelSeen} != installed ${kver}`);
  writeFileSync(join(tmp, "facts.json"), JSON.stringify(facts, null, 2) + "\n");
  rmSync(cmd, { force: true });
  rmSync(kernel, { force: true });
  rmSync(initrd, { force: true });
  log(`done (${el()})`);
}

/** Builds (or reuses from the cache) the old appliance disk and its facts. */
export async function buildOldAppliance(): Promise<OldAppliance> {
  requireRoot();
  await ensureHostPackages(HOST_PACKAGES);
  const base = await buildBaseRoot();
  const recipe = [
    "old-appliance v2",
    `base=${basename(base)}`,
    `mac=${OLD_MAC} bytes=${OLD_DISK_BYTES}`,
    ...guestFiles().map((f) => `${f}\n${readFileSync(join(FILES_DIR, f), "utf8")}`),
  ];
  const dir = await cachedAsset("old-appliance", recipe, (tmp) => buildInto(tmp, base));
  const diskImage = join(dir, "disk.qcow2");
  if (!existsSync(diskImage)) throw new Error(`cached old appliance has no disk: ${diskImage}`);
  const facts = JSON.parse(readFileSync(join(dir, "facts.json"), "utf8")) as OldFacts;
  return { diskImage, facts, dir };
}

/**
 * Creates a qcow2 overlay at `path` backed by the cached old appliance disk, so a test can boot and
 * modify "its" old appliance without touching the cache (the cached image must never be written).
 */
export async function oldApplianceOverlay(path: string, diskImage?: string): Promise<string> {
  const base = diskImage ?? (await buildOldAppliance()).diskImage;
  rmSync(path, { force: true });
  await run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, path]);
  return path;
}
