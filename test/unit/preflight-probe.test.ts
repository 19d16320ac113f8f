import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { silentLog } from "../../agent/log/logger.ts";
import { parseManifest, type Manifest } from "../../agent/manifest/manifest.ts";
import { runChecks } from "../../agent/preflight/checks.ts";
import { parseDf } from "../../agent/preflight/free-space.ts";
import { probeStageFacts } from "../../agent/preflight/probe-old-system.ts";
import type { CommandResult } from "../../agent/runner/runner.ts";
import { FakeRunner } from "./fake-runner.ts";
import { manifestDocument, referenceLayout } from "./fixtures/shapes.ts";

const FIXTURES = join(import.meta.dir, "fixtures/preflight");
const MIB = 1024 ** 2;

function manifest(): Readonly<Manifest> {
  const document: Record<string, any> = manifestDocument();
  document.tinySystem = {
    kernel: { file: "vmlinuz", bytes: 10 * MIB, sha256: "c".repeat(64) },
    initramfs: { file: "initramfs-convert.img", bytes: 60 * MIB, sha256: "d".repeat(64) },
  };
  return parseManifest(document);
}

interface Box {
  dir: string;
  rootSource: string;
  arch?: string;
  df: Record<string, string>;
  lsblk?: Partial<CommandResult>;
  pvs?: string;
  /** An old lsblk: --json fails, --pairs prints this. */
  lsblkPairs?: string;
}

/** Answers the probe's commands the way the box would. */
function boxRunner(box: Box): FakeRunner {
  const canned = (file: string) => readFileSync(join(FIXTURES, box.dir, file), "utf8");
  const answers: Record<string, () => Partial<CommandResult>> = {
    uname: () => ({ stdout: `${box.arch ?? "x86_64"}\n` }),
    findmnt: () => ({ stdout: `${box.rootSource}\n` }),
    lsblk: () => box.lsblk ?? { stdout: canned("lsblk.json") },
    "lsblk --pairs": () => ({ stdout: box.lsblkPairs }),
    "lsblk --json": () => ({ status: 1, stderr: "lsblk: unrecognized option '--json'" }),
    pvs: () => ({ stdout: box.pvs ?? canned("pvs.json") }),
  };
  return new FakeRunner().respond((argv) => {
    if (argv[0] === "df") {
      const target = box.df[argv[3]!];
      return target ? { stdout: `     Avail Mounted on\n${target}\n` } : { status: 1, stderr: "df: no such file" };
    }
    if (argv[0] === "lsblk" && box.lsblkPairs) return answers[`lsblk ${argv[1]}`]?.();
    return answers[argv[0] === "lvm" ? argv[1]! : argv[0]!]?.();
  });
}

const virtio: Box = {
  dir: "virtio-centos7",
  rootSource: "/dev/mapper/centos-root",
  df: { "/boot": "  805306368 /boot", "/etc": " 3221225472 /" },
};

const nvme: Box = {
  dir: "nvme-debian11",
  rootSource: "/dev/mapper/debian--vg-root",
  df: { "/boot": " 52428800 /boot", "/etc/upd": " 1073741824 /" },
};

async function probe(box: Box, run = boxRunner(box)) {
  return probeStageFacts({ run, log: silentLog(), root: join(FIXTURES, box.dir, "root"), manifest: manifest() });
}

describe("probeStageFacts", () => {
  test("virtio MBR+LVM CentOS-7-like box", async () => {
    const run = boxRunner(virtio);
    const facts = await probe(virtio, run);
    expect(facts).toEqual({
      arch: "x86_64",
      cpuFlags: expect.arrayContaining(["sse4_2", "popcnt"]),
      ramBytes: 1865284 * 1024,
      firmware: "bios",
      rootSource: "/dev/mapper/centos-root",
      rootDisk: { path: "/dev/vda", sizeBytes: 6442450944, holds: ["/", "/boot", "PV of VG centos"] },
      candidateDisks: [{ path: "/dev/vda", sizeBytes: 6442450944, holds: ["/", "/boot", "PV of VG centos"] }],
      blockDevices: expect.arrayContaining([expect.objectContaining({ path: "/dev/vda2", fstype: "LVM2_member", parent: "/dev/vda" })]),
      physicalVolumes: [{ device: "/dev/vda2", vg: "centos" }],
      boot: { path: "/boot", mountpoint: "/boot", freeBytes: 805306368 },
      staging: { path: "/etc/upd", mountpoint: "/", freeBytes: 3221225472 },
      bytesToStage: 17920 + 200 * MIB + 10 * MIB + 60 * MIB,
      tools: ["grub2-reboot", "grubby", "grub2-editenv", "grub2-mkconfig", "tar"],
      osRelease: expect.objectContaining({ ID: "centos", VERSION_ID: "7", PRETTY_NAME: "CentOS Linux 7 (Core)" }),
      selinux: "enforcing",
      installedProduct: { found: "none" },
    });
    expect(run.calls).toEqual([
      ["findmnt", "-no", "SOURCE", "/"],
      ["lsblk", "--json", "--bytes", "--list", "--paths", "-o", "PATH,TYPE,SIZE,FSTYPE,PKNAME,MOUNTPOINT,TRAN,UUID,LABEL,WWN,SERIAL,PTUUID"],
      ["lvm", "pvs", "--reportformat", "json", "--options", "pv_name,vg_name"],
      ["uname", "-m"],
      ["df", "-B1", "--output=avail,target", "/boot"],
      ["df", "-B1", "--output=avail,target", "/etc"],
    ]);
  });

  test("the CentOS-7-like box passes, with the SELinux warning", async () => {
    const checks = runChecks(await probe(virtio), manifest(), referenceLayout());
    expect(checks.filter((c) => c.severity !== "ok").map((c) => `${c.severity} ${c.id}`)).toEqual(["warning selinux"]);
  });

  test("NVMe UEFI Debian box with a data disk holding a VG named VA", async () => {
    const facts = await probe(nvme);
    expect(facts.firmware).toBe("uefi");
    expect(facts.rootDisk).toEqual({ path: "/dev/nvme0n1", sizeBytes: 19327352832, holds: ["/", "/boot", "/boot/efi", "PV of VG debian-vg"] });
    expect(facts.candidateDisks.map((d) => d.path)).toEqual(["/dev/nvme0n1"]);
    expect(facts.tools).toEqual(["grub-reboot", "grub-editenv", "grub-mkconfig", "tar"]);
    expect(facts.staging).toEqual({ path: "/etc/upd", mountpoint: "/", freeBytes: 1073741824 });
    expect(facts.selinux).toBe("disabled");
    expect(facts.osRelease.ID).toBe("debian");

    const failed = runChecks(facts, manifest(), referenceLayout()).filter((c) => c.severity !== "ok");
    expect(failed.map((c) => c.id)).toEqual(["cpu-baseline", "firmware", "vg-name", "boot-space"]);
    expect(failed[0]!.finding).toStartWith("the CPU lacks sse4_2 and popcnt");
    expect(failed[2]!.finding).toStartWith("a volume group named VA already exists on /dev/nvme1n1");
    expect(failed[3]!.finding).toBe(
      "50 MiB free on /boot (filesystem /boot); needs the tiny kernel (10 MiB) + initramfs (60 MiB) + 20 MiB = 90 MiB, 40 MiB more",
    );
  });

  test("a root VG extended onto a second disk makes two candidates and no root disk", async () => {
    const rows = JSON.parse(readFileSync(join(FIXTURES, "virtio-centos7/lsblk.json"), "utf8")).blockdevices;
    rows.push(
      { path: "/dev/vdb", type: "disk", size: 2147483648, fstype: null, pkname: null, mountpoint: null },
      { path: "/dev/vdb1", type: "part", size: 2146435072, fstype: "LVM2_member", pkname: "/dev/vdb", mountpoint: null },
      { path: "/dev/mapper/centos-root", type: "lvm", size: 4982833152, fstype: "xfs", pkname: "/dev/vdb1", mountpoint: "/" },
    );
    const box: Box = {
      ...virtio,
      lsblk: { stdout: JSON.stringify({ blockdevices: rows }) },
      pvs: '{"report":[{"pv":[{"pv_name":"/dev/vda2","vg_name":"centos"},{"pv_name":"/dev/vdb1","vg_name":"centos"}]}]}',
    };
    const facts = await probe(box);
    expect(facts.rootDisk).toBeNull();
    expect(facts.candidateDisks).toEqual([
      { path: "/dev/vda", sizeBytes: 6442450944, holds: ["/", "/boot", "PV of VG centos"] },
      { path: "/dev/vdb", sizeBytes: 2147483648, holds: ["/", "PV of VG centos"] },
    ]);
    const target = runChecks(facts, manifest(), referenceLayout()).find((c) => c.id === "target-disk")!;
    expect(target.severity).toBe("inhibitor");
    expect(target.finding).toStartWith(
      "the old system spans 2 disks: /dev/vda (6144 MiB, holds /, /boot, PV of VG centos); /dev/vdb (2048 MiB, holds /, PV of VG centos);",
    );
  });

  test("util-linux without lsblk --json (CentOS 7): falls back to --pairs", async () => {
    const pairs = [
      'NAME="/dev/vda" TYPE="disk" SIZE="6442450944" FSTYPE="" PKNAME="" MOUNTPOINT=""',
      'NAME="/dev/vda1" TYPE="part" SIZE="1073741824" FSTYPE="xfs" PKNAME="/dev/vda" MOUNTPOINT="/boot"',
      'NAME="/dev/vda2" TYPE="part" SIZE="5367660544" FSTYPE="LVM2_member" PKNAME="/dev/vda" MOUNTPOINT=""',
      'NAME="/dev/mapper/centos-root" TYPE="lvm" SIZE="4982833152" FSTYPE="xfs" PKNAME="/dev/vda2" MOUNTPOINT="/"',
    ].join("\n");
    const run = boxRunner({ ...virtio, lsblkPairs: `${pairs}\n` });
    const facts = await probe(virtio, run);
    expect(run.calls[2]).toEqual(["lsblk", "--pairs", "--bytes", "--paths", "-o", "NAME,TYPE,SIZE,FSTYPE,PKNAME,MOUNTPOINT"]);
    expect(facts.candidateDisks).toEqual([{ path: "/dev/vda", sizeBytes: 6442450944, holds: ["/", "/boot", "PV of VG centos"] }]);
  });

  test("btrfs subvolume sources and df output", async () => {
    const facts = await probe({ ...virtio, rootSource: "/dev/mapper/centos-root[/@]" });
    expect(facts.rootSource).toBe("/dev/mapper/centos-root");
    expect(parseDf("     Avail Mounted on\n123456 /var/lib/my disk\n")).toEqual({ freeBytes: 123456, mountpoint: "/var/lib/my disk" });
    expect(parseDf("")).toBeNull();
  });

  test("a failing df leaves the free space unknown", async () => {
    const facts = await probe({ ...virtio, df: {} });
    expect(facts.boot).toEqual({ path: "/boot", mountpoint: null, freeBytes: null });
  });
});
