import { describe, expect, test } from "bun:test";
import { parseManifest, type Manifest } from "../../agent/manifest/manifest.ts";
import type { PreflightCheck } from "../../agent/preflight/check.ts";
import { runChecks } from "../../agent/preflight/checks.ts";
import { hasInhibitors, renderReport, reportJson } from "../../agent/preflight/report.ts";
import type { StageFacts } from "../../agent/preflight/stage-facts.ts";
import { manifestDocument, referenceLayout } from "./fixtures/shapes.ts";

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

function manifest(change: (document: Record<string, any>) => void = () => {}): Readonly<Manifest> {
  const document: Record<string, any> = manifestDocument();
  document.tinySystem = {
    kernel: { file: "vmlinuz", bytes: 10 * MIB, sha256: "c".repeat(64) },
    initramfs: { file: "initramfs-convert.img", bytes: 60 * MIB, sha256: "d".repeat(64) },
  };
  change(document);
  return parseManifest(document);
}

/** A CentOS-7-like virtio box that passes every check. */
function facts(extra: Partial<StageFacts> = {}): StageFacts {
  const vda = { path: "/dev/vda", sizeBytes: 6 * GIB, holds: ["/", "/boot", "PV of VG centos"] };
  return {
    arch: "x86_64",
    cpuFlags: ["fpu", "sse4_1", "sse4_2", "popcnt"],
    ramBytes: 2 * GIB,
    firmware: "bios",
    rootSource: "/dev/mapper/centos-root",
    rootDisk: vda,
    candidateDisks: [vda],
    blockDevices: [
      { path: "/dev/vda", type: "disk", sizeBytes: 6 * GIB },
      { path: "/dev/vda1", type: "part", sizeBytes: GIB, fstype: "xfs", parent: "/dev/vda", mountpoint: "/boot" },
      { path: "/dev/vda2", type: "part", sizeBytes: 5 * GIB, fstype: "LVM2_member", parent: "/dev/vda" },
      { path: "/dev/mapper/centos-root", type: "lvm", sizeBytes: 5 * GIB, fstype: "xfs", parent: "/dev/vda2", mountpoint: "/" },
    ],
    physicalVolumes: [{ device: "/dev/vda2", vg: "centos" }],
    boot: { path: "/boot", mountpoint: "/boot", freeBytes: 200 * MIB },
    staging: { path: "/etc/upd", mountpoint: "/", freeBytes: 1000 * MIB },
    bytesToStage: 300 * MIB,
    tools: ["grub2-reboot", "grubby", "grub2-editenv", "grub2-mkconfig", "tar"],
    osRelease: { ID: "centos", VERSION_ID: "7" },
    selinux: "permissive",
    installedProduct: { found: "none" },
    ...extra,
  };
}

function check(id: string, stageFacts = facts(), m = manifest()): PreflightCheck {
  const found = runChecks(stageFacts, m, referenceLayout()).find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
}

describe("runChecks", () => {
  test("a box that fits passes every check, in a stable order", () => {
    const checks = runChecks(facts(), manifest(), referenceLayout());
    expect(checks.map((c) => c.id)).toEqual([
      "product-release",
      "architecture",
      "cpu-baseline",
      "ram",
      "firmware",
      "target-disk",
      "disk-size",
      "lvm-target-disk",
      "vg-name",
      "boot-space",
      "staging-space",
      "one-time-boot-tool",
      "selinux",
    ]);
    expect(checks.filter((c) => c.severity !== "ok")).toEqual([]);
    expect(checks.every((c) => c.remedy === "" && c.finding !== "")).toBe(true);
    expect(hasInhibitors(checks)).toBe(false);
  });

  test("passed checks say what they measured", () => {
    expect(check("ram").finding).toBe("2048 MiB of RAM; needs the files copied to RAM (271 MiB) + 10 % + 64 MiB for the rest of /run = a tmpfs of 362 MiB, + the tiny system (640 MiB) = 1002 MiB");
    expect(check("target-disk").finding).toBe("/dev/vda (6144 MiB, holds /, /boot, PV of VG centos)");
    expect(check("disk-size").finding).toBe("/dev/vda has 6144 MiB; the new layout needs 6144 MiB");
    expect(check("boot-space").finding).toBe(
      "200 MiB free on /boot (filesystem /boot); needs the tiny kernel (10 MiB) + initramfs (60 MiB) + 20 MiB = 90 MiB",
    );
    expect(check("staging-space").finding).toBe("1000 MiB free on /etc/upd (filesystem /); needs the bundle members (300 MiB) + 10 % = 330 MiB");
    expect(check("one-time-boot-tool").finding).toBe("grub2-reboot, grubby and grub2-editenv found");
  });

  test("architecture: x86_64 only", () => {
    const c = check("architecture", facts({ arch: "aarch64" }));
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toBe("the machine is aarch64; the new system and the agent are built for x86_64 only");
  });

  test("cpu-baseline: names the missing flag", () => {
    const c = check("cpu-baseline", facts({ cpuFlags: ["fpu", "sse4_2"] }));
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toStartWith("the CPU lacks popcnt (from /proc/cpuinfo)");
    expect(c.remedy).toContain("-cpu Nehalem");
    expect(check("cpu-baseline", facts({ cpuFlags: ["fpu"] })).finding).toStartWith("the CPU lacks sse4_2 and popcnt");
  });

  test("ram: says how much more is needed", () => {
    const c = check("ram", facts({ ramBytes: 512 * MIB }));
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toBe(
      "the machine has 512 MiB of RAM; the migration needs the files copied to RAM (271 MiB) + 10 % + 64 MiB for the rest of /run = a tmpfs of 362 MiB, + the tiny system (640 MiB) = 1002 MiB, 490 MiB more",
    );
    expect(c.remedy).toStartWith("Give the appliance at least 1002 MiB of memory (add 490 MiB)");
    expect(check("ram", facts({ ramBytes: 1002 * MIB })).severity).toBe("ok");
  });

  test("firmware: UEFI against a BIOS layout", () => {
    const c = check("firmware", facts({ firmware: "uefi" }));
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toBe(
      "the machine boots in UEFI mode (/sys/firmware/efi exists); the new layout boots with legacy BIOS (GRUB for BIOS, BIOS boot partition)",
    );
    expect(c.remedy).toContain("legacy BIOS (CSM)");
  });

  test("firmware: a BIOS layout without a BIOS boot partition is an inconsistent bundle", () => {
    const layout = referenceLayout();
    layout.partitions = layout.partitions.filter((p) => p.typeCode !== "EF02");
    const c = runChecks(facts(), manifest(), layout).find((x) => x.id === "firmware")!;
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toContain("no BIOS boot partition (type EF02)");
  });

  test("target-disk: several candidate disks are listed", () => {
    const vda = { path: "/dev/vda", sizeBytes: 6 * GIB, holds: ["/", "PV of VG centos"] };
    const vdb = { path: "/dev/vdb", sizeBytes: GIB, holds: ["/boot"] };
    const c = check("target-disk", facts({ rootDisk: vda, candidateDisks: [vda, vdb] }));
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toBe(
      "the old system spans 2 disks: /dev/vda (6144 MiB, holds /, PV of VG centos); /dev/vdb (1024 MiB, holds /boot); the migration rewrites exactly one disk and will not guess which",
    );
    expect(c.remedy).toContain("pvmove");
  });

  test("target-disk: no disk under the root", () => {
    const c = check("target-disk", facts({ rootSource: "overlay", rootDisk: null, candidateDisks: [] }));
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toBe("cannot find the one disk under the root filesystem overlay");
    expect(check("disk-size", facts({ rootDisk: null, candidateDisks: [] })).remedy).toBe("Resolve the target-disk inhibitor first.");
  });

  test("disk-size: says by how much the disk is short", () => {
    const small = { path: "/dev/vda", sizeBytes: 6 * GIB - 100 * MIB, holds: ["/"] };
    const c = check("disk-size", facts({ rootDisk: small, candidateDisks: [small] }));
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toBe("/dev/vda has 6044 MiB; the new layout needs 6144 MiB, 100 MiB more");
    expect(c.remedy).toStartWith("Grow the appliance's disk /dev/vda by at least 100 MiB (to 6144 MiB or more)");
  });

  test("disk-size: the manifest's minimum wins when larger than the layout", () => {
    const c = check("disk-size", facts(), manifest((d) => (d.target.minDiskBytes = 8 * GIB)));
    expect(c.finding).toBe("/dev/vda has 6144 MiB; the new layout needs 8192 MiB, 2048 MiB more");
  });

  test("vg-name: an existing VG of the new name", () => {
    const box = facts();
    box.blockDevices.push(
      { path: "/dev/vdb", type: "disk", sizeBytes: GIB },
      { path: "/dev/vdb1", type: "part", sizeBytes: GIB, fstype: "LVM2_member", parent: "/dev/vdb" },
    );
    box.physicalVolumes.push({ device: "/dev/vdb1", vg: "VA" });
    const c = check("vg-name", box);
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toStartWith("a volume group named VA already exists on /dev/vdb1 (disk /dev/vdb);");
    expect(c.remedy).toStartWith("Rename that volume group (`vgrename VA VA_old`");
  });

  test("vg-name: a VG of the new name on the target disk is no clash (wipe-old-system removes it first), as in the plan", () => {
    const box = facts();
    box.physicalVolumes = [{ device: "/dev/vda2", vg: "VA" }];
    expect(check("vg-name", box).severity).toBe("ok");
  });

  test("boot-space: short by a number of MiB", () => {
    const c = check("boot-space", facts({ boot: { path: "/boot", mountpoint: "/boot", freeBytes: 50 * MIB } }));
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toBe(
      "50 MiB free on /boot (filesystem /boot); needs the tiny kernel (10 MiB) + initramfs (60 MiB) + 20 MiB = 90 MiB, 40 MiB more",
    );
    expect(c.remedy).toStartWith("Free at least 40 MiB on /boot:");
  });

  test("boot-space: a manifest without the tiny system's sizes", () => {
    const c = check("boot-space", facts(), manifest((d) => delete d.tinySystem));
    expect(c.severity).toBe("inhibitor");
    expect(c.finding).toContain("no tiny system kernel and initramfs sizes");
  });

  test("staging-space: short, and unknown when df failed", () => {
    const short = check("staging-space", facts({ staging: { path: "/etc/upd", mountpoint: "/", freeBytes: 300 * MIB } }));
    expect(short.severity).toBe("inhibitor");
    expect(short.finding).toBe("300 MiB free on /etc/upd (filesystem /); needs the bundle members (300 MiB) + 10 % = 330 MiB, 30 MiB more");
    expect(short.remedy).toStartWith("Free at least 30 MiB on /");
    const unknown = check("staging-space", facts({ staging: { path: "/etc/upd", mountpoint: null, freeBytes: null } }));
    expect(unknown.severity).toBe("inhibitor");
    expect(unknown.finding).toBe("cannot tell the free space of /etc/upd (df failed); needs the bundle members (300 MiB) + 10 % = 330 MiB");
  });

  test("one-time-boot-tool: a reboot tool and an editenv tool are both needed", () => {
    const noEditenv = check("one-time-boot-tool", facts({ tools: ["grub2-reboot", "tar"] }));
    expect(noEditenv.severity).toBe("inhibitor");
    expect(noEditenv.finding).toStartWith("none of grub2-editenv, grub-editenv found on the old system");
    const none = check("one-time-boot-tool", facts({ tools: [] }));
    expect(none.finding).toStartWith("none of grub2-reboot, grub-reboot, grubby and none of grub2-editenv, grub-editenv found");
    expect(check("one-time-boot-tool", facts({ tools: ["grub-reboot", "grub-editenv"] })).severity).toBe("ok");
  });

  test("selinux: enforcing old system, no SELinux in the new one is a warning", () => {
    const c = check("selinux", facts({ selinux: "enforcing" }));
    expect(c.severity).toBe("warning");
    expect(c.finding).toContain("labels of carried files are not kept");
    expect(check("selinux", facts({ selinux: "enforcing" }), manifest((d) => (d.selinux.mode = "enforcing"))).severity).toBe("ok");
  });
});

describe("report", () => {
  const checks = runChecks(facts({ ramBytes: 512 * MIB, selinux: "enforcing", tools: [] }), manifest(), referenceLayout());

  test("human text: counts, inhibitors first, warnings, then one line per passed check", () => {
    const text = renderReport(checks);
    const lines = text.split("\n");
    expect(lines[0]).toBe("Pre-flight: 2 inhibitors, 1 warning, 10 passed — the migration is inhibited; nothing was changed");
    expect(lines[2]).toBe("INHIBITOR [ram] Memory for the migration");
    expect(lines[3]).toStartWith("  finding: the machine has 512 MiB of RAM;");
    expect(lines[4]).toStartWith("  remedy:  Give the appliance at least 1002 MiB");
    expect(lines[6]).toBe("INHIBITOR [one-time-boot-tool] One-time boot tools");
    expect(lines[10]).toBe("WARNING [selinux] SELinux");
    expect(lines[14]).toStartWith("ok [product-release] Product and release: no /etc/va-agent/installed.json");
    expect(lines[15]).toBe("ok [architecture] Machine architecture: x86_64");
    expect(lines.filter((line) => line.startsWith("ok ["))).toHaveLength(10);
    expect(hasInhibitors(checks)).toBe(true);
  });

  test("a clean report says the migration can proceed", () => {
    const text = renderReport(runChecks(facts(), manifest(), referenceLayout()));
    expect(text.split("\n")[0]).toBe("Pre-flight: 0 inhibitors, 0 warnings, 13 passed — the migration can proceed");
  });

  test("JSON for the web UI", () => {
    const json = reportJson(checks);
    expect(json.inhibitors).toBe(2);
    expect(json.warnings).toBe(1);
    expect(json.checks).toHaveLength(13);
    expect(Object.keys(json.checks[0]!)).toEqual(["id", "severity", "title", "finding", "remedy"]);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
