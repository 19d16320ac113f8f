import { createHash } from "node:crypto";
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseGrubenv, renderGrubenv } from "../../agent/bootloader/grubenv.ts";
import { makeWorkspace, writeRawTar, type RawEntry, type Workspace } from "./bundle-fixture.ts";
import { FakeRunner } from "./fake-runner.ts";
import { ZxRunner } from "../../agent/runner/runner.ts";
import { silentLog } from "../../agent/log/logger.ts";

const FIXTURE = join(import.meta.dir, "fixtures/preflight/virtio-centos7");
const MIB = 1024 ** 2;
export const GRUBENV_BYTES = 1024;

/** Every file, directory and symlink under dir with its content digest: the "old system as before" proof. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const stat = lstatSync(full);
      const key = relative(dir, full);
      if (stat.isSymbolicLink()) out[key] = `-> ${readlinkSync(full)}`;
      else if (stat.isDirectory()) {
        out[key] = "dir";
        walk(full);
      } else out[key] = createHash("sha256").update(readFileSync(full)).digest("hex");
    }
  };
  walk(dir);
  return out;
}

/**
 * The virtio CentOS 7 pre-flight fixture copied to a temp root, with a grub.cfg that sources
 * custom.cfg and a grubenv; its commands answered by a FakeRunner whose grub2-reboot arms
 * next_entry the way the real one does (grub2-editenv set next_entry=TITLE).
 */
export function stageableOldBox(): { root: string; run: FakeRunner } {
  const root = mkdtempSync(join(tmpdir(), "va-old-root-"));
  cpSync(join(FIXTURE, "root"), root, { recursive: true });
  mkdirSync(join(root, "boot/grub2"), { recursive: true });
  mkdirSync(join(root, "var/lib"), { recursive: true });
  writeFileSync(join(root, "boot/grub2/grub.cfg"), "### BEGIN /etc/grub.d/41_custom ###\nsource ${config_directory}/custom.cfg\n");
  writeFileSync(join(root, "boot/grub2/grubenv"), renderGrubenv(new Map([["saved_entry", "CentOS Linux (3.10.0-1160.el7.x86_64) 7 (Core)"]]), GRUBENV_BYTES));
  writeFileSync(join(root, "etc/shadow"), "root:$6$x$y:19000:0:99999:7:::\n");
  const canned = (file: string) => readFileSync(join(FIXTURE, file), "utf8");
  const run = new FakeRunner().filtersOn(new ZxRunner(silentLog())).respond((argv) => {
    const [tool, first] = argv;
    if (tool === "uname") return { stdout: "x86_64\n" };
    if (tool === "findmnt" && first === "-no") return { stdout: "/dev/mapper/centos-root\n" };
    if (tool === "findmnt") return { stdout: `0f0e0d0c-0b0a-4908-8706-050403020100 ${join(root, "boot")}\n` };
    if (tool === "lsblk") return { stdout: canned("lsblk.json") };
    if (tool === "lvm" && first === "pvs") return { stdout: canned("pvs.json") };
    if (tool === "lvm" && first === "vgs") return { stdout: canned("vgs.json") };
    if (tool === "df") return { stdout: argv[3] === "/boot" ? `Avail Mounted on\n${800 * MIB} /boot\n` : `Avail Mounted on\n${3 * 1024 * MIB} /\n` };
    if (tool === "grub2-reboot") {
      const grubenv = join(root, "boot/grub2/grubenv");
      const vars = parseGrubenv(readFileSync(grubenv, "latin1")).set("next_entry", argv[1]!);
      writeFileSync(grubenv, renderGrubenv(vars, GRUBENV_BYTES), "latin1");
    }
    return undefined;
  });
  return { root, run };
}

/** A bundle workspace whose rootfs passes the archive lint: a kernel with its modules. */
export function workspaceWithBootableRoot(): Workspace {
  const kver = "6.12.0-va";
  const entries: RawEntry[] = [
    { name: "./", type: "directory" },
    { name: "./boot/", type: "directory" },
    { name: `./boot/vmlinuz-${kver}`, body: Buffer.alloc(64 * 1024, 7) },
    { name: `./usr/lib/modules/${kver}/modules.dep`, body: Buffer.from("\n") },
    { name: "./etc/os-release", body: Buffer.from('ID=debian\nVERSION_ID="13"\n') },
    { name: "./etc/fstab", body: Buffer.from("/dev/mapper/VA-root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n/dev/mapper/VA-data /data ext4 defaults 0 2\n") },
  ];
  return makeWorkspace({
    rootfs: (path) => {
      writeRawTar(`${path}.tar`, entries);
      const xz = Bun.spawnSync(["xz", "-c", "-0"], { stdin: readFileSync(`${path}.tar`), stdout: "pipe", stderr: "pipe" });
      if (xz.exitCode !== 0) throw new Error(`xz: ${xz.stderr.toString()}`);
      writeFileSync(path, Buffer.from(xz.stdout));
      unlinkSync(`${path}.tar`);
    },
  });
}
