import { type GptLayout, SECTOR_BYTES } from "../disk/gpt-backup.ts";
import { volumeGroupNameClash } from "../lvm/volume-group-name.ts";
import { judgeVolumeGroupsOnDisk, volumeGroupsPassed } from "../lvm/volume-groups-on-disk.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { haveMiB, inhibitor, needMiB, passed, type PreflightCheck } from "./check.ts";
import type { StageFacts, SystemDisk } from "./stage-facts.ts";

/** The layout's disk size, or the manifest's minimum when it asks for more. */
export function layoutDiskBytes(manifest: Readonly<Manifest>, layout: GptLayout): number {
  return Math.max(layout.diskSectors * SECTOR_BYTES, manifest.target.minDiskBytes ?? 0);
}

export function checkTargetDisk(facts: StageFacts): PreflightCheck {
  const title = "Target disk";
  const disks = facts.candidateDisks;
  if (disks.length === 1 && facts.rootDisk) return passed("target-disk", title, describe(disks[0]!));
  if (disks.length <= 1) {
    return inhibitor(
      "target-disk",
      title,
      `cannot find the one disk under the root filesystem ${facts.rootSource || "(findmnt gave no source)"}`,
      "Run `lsblk -o NAME,TYPE,PKNAME,MOUNTPOINT` and send the output to support; the root must sit on a partition or LVM volume of one local disk.",
    );
  }
  return inhibitor(
    "target-disk",
    title,
    `the old system spans ${disks.length} disks: ${disks.map(describe).join("; ")}; the migration rewrites exactly one disk and will not guess which`,
    "Move everything the system needs onto one disk (e.g. `pvmove` the root VG off the other disks and `vgreduce` them) or detach the extra disks, then run stage again.",
  );
}

export function checkDiskSize(facts: StageFacts, manifest: Readonly<Manifest>, layout: GptLayout): PreflightCheck {
  const title = "Disk size for the new layout";
  const needed = layoutDiskBytes(manifest, layout);
  const disk = facts.rootDisk;
  if (!disk) {
    return inhibitor("disk-size", title, `the new layout needs a disk of ${needMiB(needed)}; the target disk is unknown (see target-disk)`, "Resolve the target-disk inhibitor first.");
  }
  if (disk.sizeBytes >= needed) {
    return passed("disk-size", title, `${disk.path} has ${haveMiB(disk.sizeBytes)}; the new layout needs ${needMiB(needed)}`);
  }
  const short = needed - disk.sizeBytes;
  return inhibitor(
    "disk-size",
    title,
    `${disk.path} has ${haveMiB(disk.sizeBytes)}; the new layout needs ${needMiB(needed)}, ${needMiB(short)} more`,
    `Grow the appliance's disk ${disk.path} by at least ${needMiB(short)} (to ${needMiB(needed)} or more) in the hypervisor, then run stage again; the partitions need not be grown.`,
  );
}

/** Every VG with a PV on the target disk is removed: none may reach beyond it (the tiny system's plan asks the same). */
export function checkTargetDiskVolumeGroups(facts: StageFacts): PreflightCheck {
  const title = "Volume groups on the target disk";
  const disk = facts.rootDisk;
  if (!disk) return inhibitor("lvm-target-disk", title, "the target disk is unknown (see target-disk)", "Resolve the target-disk inhibitor first.");
  const verdict = judgeVolumeGroupsOnDisk(disk.path, facts, facts.blockDevices);
  if (!verdict.refusal) return passed("lvm-target-disk", title, volumeGroupsPassed(disk.path, verdict));
  return inhibitor("lvm-target-disk", title, verdict.refusal.finding, `${verdict.refusal.remedy} Then run stage again.`);
}

export function checkVolumeGroupName(facts: StageFacts, manifest: Readonly<Manifest>): PreflightCheck {
  const title = "Volume group name";
  const vg = manifest.lvm.vg;
  const clash = volumeGroupNameClash(vg, facts.rootDisk?.path ?? "", facts, facts.blockDevices);
  if (!clash) return passed("vg-name", title, `no other volume group is named ${vg}`);
  return inhibitor(
    "vg-name",
    title,
    clash,
    `Rename that volume group (\`vgrename ${vg} ${vg}_old\`, then fix /etc/fstab and the boot loader if the running system uses it) or detach its disk, then run stage again.`,
  );
}

function describe(disk: SystemDisk): string {
  return `${disk.path} (${haveMiB(disk.sizeBytes)}, holds ${disk.holds.join(", ")})`;
}
