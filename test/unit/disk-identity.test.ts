import { describe, expect, test } from "bun:test";
import { diskIdentity, disksMatching } from "../../agent/disk/disk-identity.ts";
import { ExitCode, TargetDiskError } from "../../agent/errors/errors.ts";
import type { BlockDevice } from "../../agent/machine/machine.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { MIGRATION_STEPS } from "../../agent/steps/index.ts";
import { inputsDigest } from "../../agent/resume/step-inputs.ts";
import { recordedDisk, resolveTargetDisk, retargetPlan } from "../../agent/resume/target-disk.ts";
import { oldAppliance, referenceLayout, SHAPES, testManifest } from "./fixtures/shapes.ts";

const GIB = 1024 ** 3;
const disk = (path: string, extra: Partial<BlockDevice> = {}): BlockDevice => ({ path, type: "disk", sizeBytes: 6 * GIB, ...extra });
const NEW_GPT = referenceLayout().diskGuid;
const paths = (devices: BlockDevice[]) => devices.map((d) => d.path);
const everyOrder = (devices: BlockDevice[]) => [devices, [...devices].reverse()];

describe("issue 13 item 3: resume writes to the disk by its kernel name from the previous boot", () => {
  test("virtio vda/vdb swapped: the serial finds the disk under its new name, in either order on the bus", () => {
    const identity = diskIdentity(disk("/dev/vda", { serial: "VA-APPLIANCE" }), NEW_GPT);
    for (const seen of everyOrder([disk("/dev/vda", { serial: "DATA-DISK" }), disk("/dev/vdb", { serial: "VA-APPLIANCE" })])) {
      expect(paths(disksMatching(identity, seen))).toEqual(["/dev/vdb"]);
    }
  });

  test("sda and nvme0n1: the WWN decides, whatever the names and the order", () => {
    const nvme = diskIdentity(disk("/dev/nvme0n1", { wwn: "eui.0025388b71b2c4d1", transport: "nvme" }), NEW_GPT);
    const sata = diskIdentity(disk("/dev/sda", { wwn: "0x5000C500A1B2C3D4", transport: "sata" }), NEW_GPT);
    const box = [disk("/dev/sda", { wwn: "0x5000c500a1b2c3d4" }), disk("/dev/nvme0n1", { wwn: "eui.0025388b71b2c4d1" })];
    for (const seen of everyOrder(box)) {
      expect(paths(disksMatching(nvme, seen))).toEqual(["/dev/nvme0n1"]);
      expect(paths(disksMatching(sata, seen))).toEqual(["/dev/sda"]);
    }
    // The SATA disk comes back as sdb behind a newly enumerated sda.
    const renamed = [disk("/dev/sda", { wwn: "0x5000c500ffffffff" }), disk("/dev/sdb", { wwn: "0x5000c500a1b2c3d4" }), disk("/dev/nvme0n1", { wwn: "eui.0025388b71b2c4d1" })];
    for (const seen of everyOrder(renamed)) expect(paths(disksMatching(sata, seen))).toEqual(["/dev/sdb"]);
  });

  test("two disks of the same size and model: the serial tells them apart", () => {
    const identity = diskIdentity(disk("/dev/sda", { serial: "WD-WCC4N1234567" }), NEW_GPT);
    for (const seen of everyOrder([disk("/dev/sda", { serial: "WD-WCC4N7654321" }), disk("/dev/sdb", { serial: "WD-WCC4N1234567" })])) {
      expect(paths(disksMatching(identity, seen))).toEqual(["/dev/sdb"]);
    }
  });

  test("no WWN, no serial (virtio-blk without one): the GPT disk GUID partition-disk wrote and the size decide", () => {
    const identity = diskIdentity(disk("/dev/vda", { ptuuid: "8c6f1a2b" }), NEW_GPT);
    const other = disk("/dev/vda", { ptuuid: "1f2e3d4c-0000-4000-8000-00000000abcd" });
    for (const seen of everyOrder([other, disk("/dev/vdb", { ptuuid: NEW_GPT.toUpperCase() })])) {
      expect(paths(disksMatching(identity, seen))).toEqual(["/dev/vdb"]);
    }
    // Same GUID, other size: not the disk.
    expect(disksMatching(identity, [other, disk("/dev/vdb", { ptuuid: NEW_GPT, sizeBytes: 7 * GIB })])).toEqual([]);
  });

  test("no WWN, no serial, before partition-disk ran: the old partition table's MBR signature (or GPT disk GUID) and the size", () => {
    const mbr = diskIdentity(disk("/dev/vda", { ptuuid: "8c6f1a2b" }), NEW_GPT);
    for (const seen of everyOrder([disk("/dev/vda", { ptuuid: "5d4c3b2a" }), disk("/dev/vdb", { ptuuid: "8c6f1a2b" })])) {
      expect(paths(disksMatching(mbr, seen))).toEqual(["/dev/vdb"]);
    }
    const gpt = diskIdentity(disk("/dev/sda", { ptuuid: "0B7C9D2E-4F61-4A8B-9C3D-2E1F0A9B8C7D" }), NEW_GPT);
    expect(paths(disksMatching(gpt, [disk("/dev/sda"), disk("/dev/sdb", { ptuuid: "0b7c9d2e-4f61-4a8b-9c3d-2e1f0a9b8c7d" })]))).toEqual(["/dev/sdb"]);
  });

  test("a hardware identity wins over the partition table; the table only breaks a tie of equal serials", () => {
    const identity = diskIdentity(disk("/dev/sda", { serial: "USB-BRIDGE", ptuuid: "8c6f1a2b" }), NEW_GPT);
    // Mid-migration the table can be gone (wiped) or the new one: the serial still finds the disk.
    expect(paths(disksMatching(identity, [disk("/dev/sdb", { serial: "USB-BRIDGE" })]))).toEqual(["/dev/sdb"]);
    const twins = [disk("/dev/sda", { serial: "USB-BRIDGE", ptuuid: "aaaa0000" }), disk("/dev/sdb", { serial: "USB-BRIDGE", ptuuid: NEW_GPT })];
    for (const seen of everyOrder(twins)) expect(paths(disksMatching(identity, seen))).toEqual(["/dev/sdb"]);
    // Partitions and LVs are never the disk, even of the right size.
    expect(disksMatching(identity, [{ path: "/dev/sdb1", type: "part", sizeBytes: 6 * GIB, serial: "USB-BRIDGE" }])).toEqual([]);
  });

  test("no disk matches: a typed refusal (exit 4) that names what it looked for and what it saw, true after the point of no return", () => {
    const recorded = { path: "/dev/vda", identity: diskIdentity(disk("/dev/vda", { serial: "VA-APPLIANCE" }), NEW_GPT) };
    let caught: unknown;
    try {
      resolveTargetDisk(recorded, [disk("/dev/vda", { serial: "DATA-DISK" }), { path: "/dev/vda1", type: "part", sizeBytes: GIB }]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TargetDiskError);
    const error = caught as TargetDiskError;
    expect(error.exitCode).toBe(ExitCode.probe);
    expect(error.message).toContain("serial VA-APPLIANCE");
    expect(error.message).toContain("it was /dev/vda");
    expect(error.message).toContain("disks seen: /dev/vda (6442450944 bytes, serial DATA-DISK)");
    expect(error.hint).toContain("mid-migration");
    expect(error.hint).toContain("Attach the disk");
    expect(error.hint).toContain("check its cabling");
    expect(error.hint).not.toMatch(/not changed|unchanged|intact|stage again/);
  });

  test("two disks match (a clone without serials): refused, both named, no guess", () => {
    const recorded = { path: "/dev/vda", identity: diskIdentity(disk("/dev/vda"), NEW_GPT) };
    expect(() => resolveTargetDisk(recorded, [disk("/dev/vda", { ptuuid: NEW_GPT }), disk("/dev/vdb", { ptuuid: NEW_GPT })])).toThrow(
      /2 disks of this boot match the disk being migrated .*: \/dev\/vda, \/dev\/vdb/,
    );
  });

  test("the plan follows the disk: every device of the old name gets the new one, partitions named the new disk's way; the journal's digests stay", () => {
    const plan = planMigration(testManifest(), referenceLayout(), oldAppliance(SHAPES["NVMe, MBR+LVM centos, xfs root, disk 3x the layout"]!));
    expect(plan.disk.identity).toEqual({ sizeBytes: plan.disk.sizeBytes, partitionTableIds: ["8c6f1a2b", NEW_GPT] });
    const moved = retargetPlan(plan, "/dev/sdb");
    const text = JSON.stringify(moved);
    expect(text).not.toContain("nvme0n1");
    expect(moved.disk.path).toBe("/dev/sdb");
    expect(moved.partitions.map((p) => p.device)).toEqual(["/dev/sdb1", "/dev/sdb2", "/dev/sdb3"]);
    expect(moved.lvm.pv).toBe("/dev/sdb3");
    expect(moved.filesystems.find((fs) => fs.mountpoint === "/boot")?.device).toBe("/dev/sdb2");
    expect(moved.oldSystem.partitions.map((p) => [p.path, p.parent])).toEqual([["/dev/sdb1", "/dev/sdb"], ["/dev/sdb2", "/dev/sdb"]]);
    expect(moved.lvm.volumes).toEqual(plan.lvm.volumes);
    expect(recordedDisk(moved).identity).toEqual(plan.disk.identity);
    const manifest = testManifest();
    for (const step of MIGRATION_STEPS) expect(inputsDigest({ manifest, plan: moved }, step)).toBe(inputsDigest({ manifest, plan }, step));
  });
});
