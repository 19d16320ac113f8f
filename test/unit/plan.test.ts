import { commandsOf } from "./step-hooks.ts";
import { describe, expect, test } from "bun:test";
import { debianAdapterFor } from "./fixtures/distro.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { createVolumes } from "../../agent/steps/create-volumes.ts";
import { installBootloader } from "../../agent/steps/install-bootloader.ts";
import { makeFilesystems, makeResumeFilesystems } from "../../agent/steps/make-filesystems.ts";
import { mountTarget } from "../../agent/steps/mount-target.ts";
import { partitionDisk } from "../../agent/steps/partition-disk.ts";
import type { PlanContext } from "../../agent/steps/step.ts";
import { wipeOldSystem } from "../../agent/steps/wipe-old-system.ts";
import { extractRootfs } from "../../agent/steps/extract-rootfs.ts";
import { fixFilesystemUuids } from "../../agent/steps/fix-filesystem-uuids.ts";
import { LAYOUT_BYTES, manifestDocument, oldAppliance, referenceLayout, SHAPES, type Shape, testManifest } from "./fixtures/shapes.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";

function context(shape: Shape, manifest = testManifest()): PlanContext {
  return { manifest, plan: planMigration(manifest, referenceLayout(), oldAppliance(shape)), paths: defaultPaths() };
}

const lvmPartitionGuid = () => referenceLayout().partitions.find((p) => p.number === 3)!.partitionGuid;

describe("virtio disk equal to the layout, old MBR + LVM centos, xfs root", () => {
  const ctx = context(SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!);

  test("wipes the old volume group and signatures, then the disk", () => {
    expect(commandsOf(wipeOldSystem, ctx)).toEqual([
      ["lvm", "vgs", "--noheadings", "--options", "vg_name", "centos"],
      ["lvm", "vgchange", "--activate", "n", "centos"],
      ["lvm", "vgremove", "--force", "--force", "--yes", "centos"],
      ["wipefs", "--all", "--force", "/dev/vda1"],
      ["wipefs", "--all", "--force", "/dev/vda2"],
      ["wipefs", "--all", "--force", "/dev/vda"],
    ]);
  });

  test("loads the layout as is: no header move, no growth", () => {
    expect(commandsOf(partitionDisk, ctx)).toEqual([
      ["sgdisk", "--zap-all", "/dev/vda"],
      ["sgdisk", "--load-backup=/run/va-agent/payload/va.sgdisk", "/dev/vda"],
      ["udevadm", "settle", "--timeout=30"],
      ["blockdev", "--rereadpt", "/dev/vda"],
      ["partx", "--update", "/dev/vda"],
      ["udevadm", "settle", "--timeout=60"],
      ["wipefs", "--all", "--force", "/dev/vda1"],
      ["wipefs", "--all", "--force", "/dev/vda2"],
      ["wipefs", "--all", "--force", "/dev/vda3"],
    ]);
  });

  test("creates VG VA with root, back and the rest as data", () => {
    expect(commandsOf(createVolumes, ctx)).toEqual([
      ["lvm", "vgs", "--noheadings", "--options", "vg_name", "VA"],
      ["lvm", "vgremove", "--force", "--force", "--yes", "VA"],
      ["lvm", "pvcreate", "--force", "--force", "--yes", "--dataalignment", "1m", "/dev/vda3"],
      ["lvm", "vgcreate", "--yes", "--physicalextentsize", "4m", "VA", "/dev/vda3"],
      ["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", "root", "--size", "2147483648b", "VA"],
      ["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", "back", "--size", "2147483648b", "VA"],
      ["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", "data", "--extents", "100%FREE", "VA"],
      ["udevadm", "settle", "--timeout=60"],
    ]);
  });

  test("makes /boot and the store first, the other filesystems after the resume entry; mounts parents first", () => {
    expect(commandsOf(makeResumeFilesystems, ctx)).toEqual([
      ["mkfs.ext4", "-F", "-q", "/dev/vda2"],
      ["mkfs.ext4", "-F", "-q", "/dev/mapper/VA-back"],
    ]);
    expect(commandsOf(makeFilesystems, ctx)).toEqual([
      ["mkfs.ext4", "-F", "-q", "/dev/mapper/VA-root"],
      ["mkfs.ext4", "-F", "-q", "/dev/mapper/VA-data"],
    ]);
    expect(commandsOf(mountTarget, ctx)).toEqual([
      ["mount", "-t", "ext4", "/dev/mapper/VA-root", "/sysimage"],
      ["mount", "-t", "ext4", "/dev/vda2", "/sysimage/boot"],
      ["mount", "-t", "ext4", "/dev/mapper/VA-data", "/sysimage/data"],
    ]);
  });

  test("extracts with numeric owners, ACLs and xattrs; sets the /boot UUID offline", () => {
    expect(commandsOf(extractRootfs, ctx)).toEqual([
      ["tar", "--extract", "--xz", "--file=-", "--numeric-owner", "--preserve-permissions", "--acls", "--xattrs", "--xattrs-include=*", "--directory=/sysimage"],
    ]);
    expect(commandsOf(fixFilesystemUuids, ctx)).toEqual([
      ["blkid", "-s", "UUID", "-o", "value", "/dev/vda2"],
      ["umount", "/sysimage/boot"],
      ["e2fsck", "-f", "-p", "/dev/vda2"],
      ["tune2fs", "-U", "<UUID from the new /etc/fstab>", "/dev/vda2"],
      ["udevadm", "settle", "--timeout=30"],
      ["mount", "-t", "ext4", "/dev/vda2", "/sysimage/boot"],
      ["blkid", "--match-token", "<TAG=VALUE of each such entry>", "--output", "device"],
      ["blkid", "<device path of each such entry>"],
    ]);
  });

  test("installs GRUB on the disk the old root was on", () => {
    expect(commandsOf(installBootloader, { ...ctx, distro: debianAdapterFor() })).toEqual([
      ["chroot", "/sysimage", "grub-install", "--target=i386-pc", "/dev/vda"],
    ]);
  });
});

describe("SATA disk 3x the layout, old GPT, ext4 root", () => {
  const ctx = context(SHAPES["SATA, GPT+LVM, ext4 root, disk 3x the layout"]!);
  const lastUsable = (3 * LAYOUT_BYTES) / 512 - 34;

  test("moves the backup GPT header to the end and grows the LVM partition to fill the disk", () => {
    expect(commandsOf(partitionDisk, ctx)).toEqual([
      ["sgdisk", "--zap-all", "/dev/sda"],
      ["sgdisk", "--load-backup=/run/va-agent/payload/va.sgdisk", "/dev/sda"],
      ["sgdisk", "--move-second-header", "/dev/sda"],
      ["sgdisk", "--delete=3", `--new=3:2103296:${lastUsable}`, "--typecode=3:8E00", "--change-name=3:lvm", `--partition-guid=3:${lvmPartitionGuid()}`, "/dev/sda"],
      ["udevadm", "settle", "--timeout=30"],
      ["blockdev", "--rereadpt", "/dev/sda"],
      ["partx", "--update", "/dev/sda"],
      ["udevadm", "settle", "--timeout=60"],
      ["wipefs", "--all", "--force", "/dev/sda1"],
      ["wipefs", "--all", "--force", "/dev/sda2"],
      ["wipefs", "--all", "--force", "/dev/sda3"],
    ]);
    expect(ctx.plan.growLvmPartition).toEqual({ number: 3, fromLastLba: 12582878, toLastLba: lastUsable });
  });

  test("wipes all three old GPT partitions", () => {
    expect(commandsOf(wipeOldSystem, ctx).filter((argv) => argv[0] === "wipefs")).toEqual([
      ["wipefs", "--all", "--force", "/dev/sda1"],
      ["wipefs", "--all", "--force", "/dev/sda2"],
      ["wipefs", "--all", "--force", "/dev/sda3"],
      ["wipefs", "--all", "--force", "/dev/sda"],
    ]);
  });
});

describe("NVMe disk 3x the layout", () => {
  const ctx = context(SHAPES["NVMe, MBR+LVM centos, xfs root, disk 3x the layout"]!);

  test("names partitions with the p separator", () => {
    const commands = commandsOf(partitionDisk, ctx);
    expect(commands[3]?.at(-1)).toBe("/dev/nvme0n1");
    expect(commands.slice(-3)).toEqual([
      ["wipefs", "--all", "--force", "/dev/nvme0n1p1"],
      ["wipefs", "--all", "--force", "/dev/nvme0n1p2"],
      ["wipefs", "--all", "--force", "/dev/nvme0n1p3"],
    ]);
    expect(commandsOf(createVolumes, ctx)[2]).toEqual(["lvm", "pvcreate", "--force", "--force", "--yes", "--dataalignment", "1m", "/dev/nvme0n1p3"]);
    expect(commandsOf(mountTarget, ctx)[1]).toEqual(["mount", "-t", "ext4", "/dev/nvme0n1p2", "/sysimage/boot"]);
    expect(commandsOf(installBootloader, { ...ctx, distro: debianAdapterFor() })[0]).toEqual(["chroot", "/sysimage", "grub-install", "--target=i386-pc", "/dev/nvme0n1"]);
  });
});

describe("layouts with xfs and percentages", () => {
  test("xfs filesystems get mkfs.xfs and xfs_admin for the UUID", () => {
    const document = manifestDocument();
    document.filesystems = [
      { on: "partition:2", type: "xfs", mountpoint: "/boot", uuidFromFstab: true },
      { on: "lv:root", type: "xfs", mountpoint: "/", label: "root" },
    ];
    document.lvm = { vg: "VA", lvs: [{ name: "root", size: "60%" }, { name: "data", size: "rest" }] };
    const ctx = context(SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!, parseManifest(document));
    expect([...commandsOf(makeResumeFilesystems, ctx), ...commandsOf(makeFilesystems, ctx)]).toEqual([
      ["mkfs.xfs", "-f", "/dev/vda2"],
      ["mkfs.xfs", "-f", "-L", "root", "/dev/mapper/VA-root"],
    ]);
    expect(commandsOf(createVolumes, ctx)[4]).toEqual(["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", "root", "--extents", "60%VG", "VA"]);
    expect(commandsOf(fixFilesystemUuids, ctx)[2]).toEqual(["xfs_admin", "-U", "<UUID from the new /etc/fstab>", "/dev/vda2"]);
  });
});
