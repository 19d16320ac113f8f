import { expect, test } from "bun:test";
import { LayoutError } from "../../agent/errors/errors.ts";
import { parseSgdiskBackup } from "../../agent/disk/gpt-backup.ts";
import { partitionDevice } from "../../agent/disk/partition-device.ts";
import { referenceLayout } from "./fixtures/shapes.ts";

test("reads the reference layout sgdisk --backup wrote", () => {
  const layout = referenceLayout();
  expect(layout.diskSectors).toBe(12582912);
  expect(layout.lastUsableLba).toBe(12582878);
  expect(layout.partitions.map((p) => [p.number, p.firstLba, p.lastLba, p.typeCode, p.name])).toEqual([
    [1, 2048, 6143, "EF02", "biosboot"],
    [2, 6144, 2103295, "8300", "boot"],
    [3, 2103296, 12582878, "8E00", "lvm"],
  ]);
  expect(layout.partitions[2]!.partitionGuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});

test("refuses a file that is not an sgdisk backup", () => {
  expect(() => parseSgdiskBackup(new Uint8Array(4096), "va.sgdisk")).toThrow(LayoutError);
});

test("partition device names for virtio, SATA, NVMe and MMC", () => {
  expect(partitionDevice("/dev/vda", 3)).toBe("/dev/vda3");
  expect(partitionDevice("/dev/sda", 1)).toBe("/dev/sda1");
  expect(partitionDevice("/dev/nvme0n1", 3)).toBe("/dev/nvme0n1p3");
  expect(partitionDevice("/dev/mmcblk0", 2)).toBe("/dev/mmcblk0p2");
});
