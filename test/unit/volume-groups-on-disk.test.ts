import { commandsOf } from "./step-hooks.ts";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ExitCode, PreflightError } from "../../agent/errors/errors.ts";
import { listPhysicalVolumes } from "../../agent/lvm/physical-volumes.ts";
import { silentLog } from "../../agent/log/logger.ts";
import type { BlockDevice, Machine } from "../../agent/machine/machine.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { runChecks } from "../../agent/preflight/checks.ts";
import { probeStageFacts } from "../../agent/preflight/probe-old-system.ts";
import type { CommandResult } from "../../agent/runner/runner.ts";
import { wipeOldSystem } from "../../agent/steps/wipe-old-system.ts";
import { FakeRunner } from "./fake-runner.ts";
import { manifestDocument, referenceLayout } from "./fixtures/shapes.ts";
import { refusal } from "./fixtures/refusal.ts";

const FIXTURE_ROOT = join(import.meta.dir, "fixtures/preflight/virtio-centos7/root");
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

function manifest() {
  const document: Record<string, any> = manifestDocument();
  document.tinySystem = {
    kernel: { file: "vmlinuz", bytes: 10 * MIB, sha256: "c".repeat(64) },
    initramfs: { file: "initramfs-convert.img", bytes: 60 * MIB, sha256: "d".repeat(64) },
  };
  return parseManifest(document);
}

/** sda: /boot, PV of centos (root), PV of data; sdb: a second PV of data, unless `dataOnlyOnSda`. */
function devices(dataOnlyOnSda = false): Array<BlockDevice & { mountpoint?: string }> {
  return [
    { path: "/dev/sda", type: "disk", sizeBytes: 8 * GIB },
    { path: "/dev/sda1", type: "part", sizeBytes: GIB, fstype: "xfs", parent: "/dev/sda", mountpoint: "/boot" },
    { path: "/dev/sda2", type: "part", sizeBytes: 5 * GIB, fstype: "LVM2_member", parent: "/dev/sda" },
    { path: "/dev/sda3", type: "part", sizeBytes: 2 * GIB - MIB, fstype: "LVM2_member", parent: "/dev/sda" },
    ...(dataOnlyOnSda
      ? [{ path: "/dev/sdb", type: "disk", sizeBytes: 4 * GIB }]
      : [
          { path: "/dev/sdb", type: "disk", sizeBytes: 4 * GIB },
          { path: "/dev/sdb1", type: "part", sizeBytes: 4 * GIB - MIB, fstype: "LVM2_member", parent: "/dev/sdb" },
        ]),
    { path: "/dev/mapper/centos-root", type: "lvm", sizeBytes: 5 * GIB, fstype: "xfs", parent: "/dev/sda2", mountpoint: "/" },
    { path: "/dev/mapper/data-srv", type: "lvm", sizeBytes: 5 * GIB, fstype: "xfs", parent: "/dev/sda3", mountpoint: "/srv" },
    ...(dataOnlyOnSda ? [] : [{ path: "/dev/mapper/data-srv", type: "lvm", sizeBytes: 5 * GIB, fstype: "xfs", parent: "/dev/sdb1", mountpoint: "/srv" }]),
  ];
}

const pvsJson = (dataOnlyOnSda = false) =>
  JSON.stringify({
    report: [
      {
        pv: [
          { pv_name: "/dev/sda2", vg_name: "centos" },
          { pv_name: "/dev/sda3", vg_name: "data" },
          ...(dataOnlyOnSda ? [] : [{ pv_name: "/dev/sdb1", vg_name: "data" }]),
        ],
      },
    ],
  });

/** What LVM 2.02.130 (CentOS 7.2) prints for `pvs --noheadings --separator '|'`: two leading spaces, no alignment. */
const OLD_LVM_COLUMNS = "  /dev/sda2|centos\n  /dev/sda3|data\n  /dev/sdb1|data\n  /dev/sdc|\n";
const OLD_LVM_REFUSAL = { status: 3, stderr: "pvs: unrecognized option '--reportformat'\n  Error during parsing of command line.\n" };

/** Answers the stage probe's commands for the two-disk box. */
function oldBox(pvs: (argv: readonly string[]) => Partial<CommandResult>, dataOnlyOnSda = false): FakeRunner {
  const rows = devices(dataOnlyOnSda).map((d) => ({
    path: d.path,
    type: d.type,
    size: d.sizeBytes,
    fstype: d.fstype ?? null,
    pkname: d.parent ?? null,
    mountpoint: d.mountpoint ?? null,
  }));
  return new FakeRunner().respond((argv) => {
    if (argv[0] === "uname") return { stdout: "x86_64\n" };
    if (argv[0] === "findmnt") return { stdout: "/dev/mapper/centos-root\n" };
    if (argv[0] === "lsblk") return { stdout: JSON.stringify({ blockdevices: rows }) };
    if (argv[0] === "df") return { stdout: `Avail Mounted on\n${3 * GIB} ${argv[3] === "/boot" ? "/boot" : "/"}\n` };
    if (argv[0] === "lvm" && argv[1] === "pvs") return pvs(argv);
    return undefined;
  });
}

async function preflight(run: FakeRunner) {
  const facts = await probeStageFacts({ run, log: silentLog(), root: FIXTURE_ROOT, manifest: manifest() });
  return runChecks(facts, manifest(), referenceLayout());
}

const lvmCheck = (checks: Awaited<ReturnType<typeof preflight>>) => checks.find((c) => c.id === "lvm-target-disk")!;
const isJson = (argv: readonly string[]) => argv.includes("--reportformat");

/** The tiny system's probe of the same box. */
function machine(dataOnlyOnSda = false, extra: Partial<Machine> = {}): Machine {
  const pvs = JSON.parse(pvsJson(dataOnlyOnSda)).report[0].pv.map((pv: any) => ({ device: pv.pv_name, vg: pv.vg_name }));
  return {
    ramBytes: 4 * GIB,
    cpuFlags: ["sse4_2", "popcnt"],
    // The tiny system's lsblk lists each device once (its first parent) and no mountpoints.
    blockDevices: devices(dataOnlyOnSda)
      .filter((d, i, all) => all.findIndex((o) => o.path === d.path) === i)
      .map(({ mountpoint: _, ...d }) => d),
    physicalVolumes: pvs,
    rootCandidates: [{ device: "/dev/mapper/centos-root", fstype: "xfs", osRelease: { PRETTY_NAME: "CentOS Linux 7 (Core)" }, hasStagedPayload: true }],
    ...extra,
  };
}


describe("issue 13 item 1: a VG that spans the target disk and another disk is destroyed", () => {
  test("pre-flight inhibits a VG with PVs on the target disk and on another, naming it, its LVs and mount points", async () => {
    const check = lvmCheck(await preflight(oldBox(() => ({ stdout: pvsJson() }))));
    expect(check.severity).toBe("inhibitor");
    expect(check.finding).toBe(
      "volume group data has PVs on the target disk /dev/sda (/dev/sda3) and on /dev/sdb (/dev/sdb1); LVs: /dev/mapper/data-srv at /srv; " +
        "the migration removes every volume group with a PV on /dev/sda, so all of data would be lost",
    );
    expect(check.remedy).toContain("pvmove /dev/sda3");
    expect(check.remedy).toContain("vgreduce data /dev/sda3");
    expect(check.remedy).toContain("vgsplit");
  });

  test("the tiny system's plan refuses the same box with the same finding, before anything is written", () => {
    const error = refusal(() => planMigration(manifest(), referenceLayout(), machine()));
    expect(error).toBeInstanceOf(PreflightError);
    expect(error.exitCode).toBe(ExitCode.preflight);
    expect(error.message).toStartWith("volume group data has PVs on the target disk /dev/sda (/dev/sda3) and on /dev/sdb (/dev/sdb1); LVs: /dev/mapper/data-srv;");
    expect(error.hint).toContain("pvmove /dev/sda3");
    expect(error.hint).toContain("nothing was changed");
  });

  test("a VG only on the target disk passes pre-flight and plan, and wipe-old-system removes it", async () => {
    const check = lvmCheck(await preflight(oldBox(() => ({ stdout: pvsJson(true) }), true)));
    expect(check.severity).toBe("ok");
    expect(check.finding).toBe("the volume groups with a PV on /dev/sda (centos, data) have no PV on another disk");
    const plan = planMigration(manifest(), referenceLayout(), machine(true));
    expect(plan.oldSystem.volumeGroups).toEqual(["centos", "data"]);
    expect(commandsOf(wipeOldSystem, { manifest: manifest(), plan, paths: defaultPaths() }).filter((argv) => argv[1] === "vgremove")).toEqual([
      ["lvm", "vgremove", "--force", "--force", "--yes", "centos"],
      ["lvm", "vgremove", "--force", "--force", "--yes", "data"],
    ]);
  });

  test("a PV LVM cannot find (a missing disk) counts as another disk", () => {
    const box = machine(true);
    box.physicalVolumes.push({ device: "[unknown]", vg: "data" });
    expect(refusal(() => planMigration(manifest(), referenceLayout(), box)).message).toStartWith(
      "volume group data has PVs on the target disk /dev/sda (/dev/sda3) and on a missing device ([unknown]);",
    );
  });

  test("LVM without JSON reports (CentOS 7.2): the column output is read instead, and the span is still found", async () => {
    const run = oldBox((argv) => (isJson(argv) ? OLD_LVM_REFUSAL : { stdout: OLD_LVM_COLUMNS }));
    expect(await listPhysicalVolumes(run)).toEqual({
      physicalVolumes: [
        { device: "/dev/sda2", vg: "centos" },
        { device: "/dev/sda3", vg: "data" },
        { device: "/dev/sdb1", vg: "data" },
      ],
    });
    expect(run.calls).toEqual([
      ["lvm", "pvs", "--reportformat", "json", "--options", "pv_name,vg_name"],
      ["lvm", "pvs", "--noheadings", "--separator", "|", "--options", "pv_name,vg_name"],
    ]);
    expect(lvmCheck(await preflight(oldBox((argv) => (isJson(argv) ? OLD_LVM_REFUSAL : { stdout: OLD_LVM_COLUMNS })))).finding).toStartWith(
      "volume group data has PVs on the target disk /dev/sda (/dev/sda3) and on /dev/sdb (/dev/sdb1);",
    );
  });

  test("a pvs failure that is not an old LVM is an inhibitor, not 'no PVs'", async () => {
    const locked = { status: 5, stderr: "  /run/lock/lvm/P_global:aux: open failed: Read-only file system\n  Unable to obtain global lock.\n" };
    expect(await listPhysicalVolumes(oldBox(() => locked))).toEqual({
      physicalVolumes: [],
      physicalVolumesFailure: "`lvm pvs` exited 5: Unable to obtain global lock.",
    });
    const checks = await preflight(oldBox(() => locked));
    const check = lvmCheck(checks);
    expect(check.severity).toBe("inhibitor");
    expect(check.finding).toBe(
      "cannot tell which volume groups live on /dev/sda, which holds LVM PVs (/dev/sda2, /dev/sda3): `lvm pvs` exited 5: Unable to obtain global lock.",
    );
    const error = refusal(() => planMigration(manifest(), referenceLayout(), machine(false, { physicalVolumes: [], physicalVolumesFailure: "`lvm pvs` exited 5: Unable to obtain global lock." })));
    expect(error).toBeInstanceOf(PreflightError);
    expect(error.message).toContain("cannot tell which volume groups live on /dev/sda");
  });

  test("an old LVM whose column output fails too is an inhibitor", async () => {
    const run = oldBox((argv) => (isJson(argv) ? OLD_LVM_REFUSAL : { status: 5, stderr: "  No device found.\n" }));
    expect((await listPhysicalVolumes(run)).physicalVolumesFailure).toBe("`lvm pvs` exited 5: No device found.");
  });

  test("no lvm tool and no PV signature on the target disk: nothing to list, nothing to lose", async () => {
    const noLvm = { status: 127, stderr: "lvm: command not found" };
    const box = machine(true, {
      physicalVolumes: [],
      physicalVolumesFailure: "`lvm pvs` exited 127: lvm: command not found",
      blockDevices: [
        { path: "/dev/sda", type: "disk", sizeBytes: 8 * GIB },
        { path: "/dev/sda1", type: "part", sizeBytes: 8 * GIB - MIB, fstype: "ext4", parent: "/dev/sda" },
      ],
      rootCandidates: [{ device: "/dev/sda1", fstype: "ext4", osRelease: { PRETTY_NAME: "Debian" }, hasStagedPayload: true }],
    });
    expect(planMigration(manifest(), referenceLayout(), box).oldSystem.volumeGroups).toEqual([]);
    expect((await listPhysicalVolumes(oldBox(() => noLvm))).physicalVolumesFailure).toBe("`lvm pvs` exited 127: lvm: command not found");
  });
});
