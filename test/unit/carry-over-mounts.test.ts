import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { captureMounts, deviceOf, type MountFacts } from "../../agent/carry-over/capture-mounts.ts";
import type { CapturedMount } from "../../agent/carry-over/captured-config.ts";
import { carriedOptions, withCarriedMounts } from "../../agent/carry-over/render-fstab-mounts.ts";
import { checkCarriedMounts } from "../../agent/preflight/carry-over-checks.ts";

/** An anaconda-written CentOS 7 fstab, with what the appliance's admins added over the years. */
const OLD_FSTAB = `
#
# /etc/fstab
# Created by anaconda on Tue Mar  5 10:12:41 2024
#
# Accessible filesystems, by reference, are maintained under '/dev/disk'
# See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info
#
/dev/mapper/centos-root /                       xfs     defaults        0 0
UUID=0f0e0d0c-0b0a-4908-8706-050403020100 /boot                   xfs     defaults        0 0
/dev/mapper/centos-swap swap                    swap    defaults        0 0
/dev/mapper/archive-logs /var/log/archive       xfs     defaults        0 0
UUID=5b1f3c2e-8d4a-4f6b-9e21-7c3d2a1b0f9e /srv/backup ext4 defaults 1 2
/dev/archive/old        /srv/old                xfs     defaults        0 0
/dev/disk/by-id/virtio-data2-part1 /data2       xfs     defaults        0 0
LABEL=scratch           /scratch                ext4    defaults,nofail 0 2
UUID=3C5A-11F2          /mnt/usb                vfat    noauto,user     0 0
nas01.corp.example:/export/app /mnt/nas         nfs4    rw,hard,_netdev 0 0
//fileserver/share      /mnt/share              cifs    credentials=/root/.smbcred,uid=1000,_netdev 0 0
/srv/backup/www         /var/www                none    bind            0 0
tmpfs                   /tmp                    tmpfs   size=512m       0 0
proc                    /proc                   proc    defaults        0 0
/dev/mapper/data-vol    /data                   xfs     defaults        0 0
/dev/mapper/span-lv     /srv/span               xfs     defaults        0 0
LABEL=my\\040photos     /srv/photos             ext4    defaults        0 2
`;

const node = (path: string, type: string, parent: string | null = null) => ({ path, type, parent });

/** lsblk's tree: vda is the target (root VG, /boot, a scratch partition, one PV of a VG spanning to vdf); the rest other disks. */
const DEVICES = [
  node("/dev/vda", "disk"),
  node("/dev/vda1", "part", "/dev/vda"),
  node("/dev/vda2", "part", "/dev/vda"),
  node("/dev/vda3", "part", "/dev/vda"),
  node("/dev/vda4", "part", "/dev/vda"),
  node("/dev/mapper/centos-root", "lvm", "/dev/vda2"),
  node("/dev/mapper/centos-swap", "lvm", "/dev/vda2"),
  node("/dev/vdb", "disk"),
  node("/dev/vdb1", "part", "/dev/vdb"),
  node("/dev/mapper/archive-logs", "lvm", "/dev/vdb1"),
  node("/dev/mapper/archive-old", "lvm", "/dev/vdb1"),
  node("/dev/vdc", "disk"),
  node("/dev/vdc1", "part", "/dev/vdc"),
  node("/dev/vdd", "disk"),
  node("/dev/vdd1", "part", "/dev/vdd"),
  node("/dev/vde", "disk"),
  node("/dev/mapper/data-vol", "lvm", "/dev/vde"),
  node("/dev/vdf", "disk"),
  node("/dev/mapper/span-lv", "lvm", "/dev/vda4"),
  node("/dev/mapper/span-lv", "lvm", "/dev/vdf"),
  node("/dev/vdg", "disk"),
  node("/dev/vdg1", "part", "/dev/vdg"),
];

const FACTS: MountFacts = { targetDisk: "/dev/vda", devices: DEVICES, provided: ["/boot", "/", "/data"] };

/** The old root with its fstab and the links udev made under /dev (and the device-mapper names in /sys). */
function oldRoot(fstab = OLD_FSTAB): string {
  const root = mkdtempSync(join(tmpdir(), "va-old-mounts-"));
  const link = (path: string, target: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    symlinkSync(target, join(root, path));
  };
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc/fstab"), fstab);
  link("dev/disk/by-uuid/0f0e0d0c-0b0a-4908-8706-050403020100", "../../vda1");
  link("dev/disk/by-uuid/5b1f3c2e-8d4a-4f6b-9e21-7c3d2a1b0f9e", "../../vdc1");
  link("dev/disk/by-label/scratch", "../../vda3");
  link("dev/disk/by-label/my\\x20photos", "../../vdg1");
  link("dev/disk/by-id/virtio-data2-part1", "../../vdd1");
  link("dev/archive/old", "../dm-3");
  mkdirSync(join(root, "sys/block/dm-3/dm"), { recursive: true });
  writeFileSync(join(root, "sys/block/dm-3/dm/name"), "archive-old\n");
  return root;
}

describe("fstab entries outside the target disk", () => {
  const captured = captureMounts(oldRoot(), FACTS);

  test("other disks' partitions and LVs by every spec form, network filesystems and binds inside them are carried with their options", () => {
    expect(captured.mounts).toEqual([
      { spec: "/dev/mapper/archive-logs", mountPoint: "/var/log/archive", type: "xfs", options: "defaults", dump: 0, pass: 0, lives: "other-disk" },
      { spec: "UUID=5b1f3c2e-8d4a-4f6b-9e21-7c3d2a1b0f9e", mountPoint: "/srv/backup", type: "ext4", options: "defaults", dump: 1, pass: 2, lives: "other-disk" },
      { spec: "/dev/archive/old", mountPoint: "/srv/old", type: "xfs", options: "defaults", dump: 0, pass: 0, lives: "other-disk" },
      { spec: "/dev/disk/by-id/virtio-data2-part1", mountPoint: "/data2", type: "xfs", options: "defaults", dump: 0, pass: 0, lives: "other-disk" },
      { spec: "nas01.corp.example:/export/app", mountPoint: "/mnt/nas", type: "nfs4", options: "rw,hard,_netdev", dump: 0, pass: 0, lives: "network" },
      { spec: "//fileserver/share", mountPoint: "/mnt/share", type: "cifs", options: "credentials=/root/.smbcred,uid=1000,_netdev", dump: 0, pass: 0, lives: "network" },
      { spec: "/srv/backup/www", mountPoint: "/var/www", type: "none", options: "bind", dump: 0, pass: 0, lives: "other-disk" },
      { spec: "LABEL=my\\040photos", mountPoint: "/srv/photos", type: "ext4", options: "defaults", dump: 0, pass: 2, lives: "other-disk" },
    ]);
  });

  test("what the new system provides is left without a word: /, /boot, swap on the target disk, kernel filesystems", () => {
    const silent = captured.left.filter((left) => !left.warned).map((left) => `${left.mountPoint}: ${left.why}`);
    expect(silent).toEqual([
      "/: the new layout provides this mount point",
      "/boot: the new layout provides this mount point",
      "swap: swap on the target disk: the new layout decides swap",
      "/proc: a kernel filesystem, which the new system mounts itself",
    ]);
  });

  test("everything else left is a warning by mount point: on the target disk, no device, a tmpfs, a layout mount point, a spanning VG", () => {
    expect(captured.warnings.map((w) => w.message)).toEqual([
      "not carried: /scratch (LABEL=scratch, ext4) from /etc/fstab: /dev/vda3 is on the target disk /dev/vda, which the migration rewrites: its data is gone unless carryOver.paths lists /scratch",
      "not carried: /mnt/usb (UUID=3C5A-11F2, vfat) from /etc/fstab: no block device UUID=3C5A-11F2 on this system now: cannot tell whether it is on the target disk",
      "not carried: /tmp (tmpfs, tmpfs) from /etc/fstab: a tmpfs: the new system's own fstab and units decide its tmpfs mounts",
      "not carried: /data (/dev/mapper/data-vol, xfs) from /etc/fstab: the new layout mounts its own filesystem at /data, so this one on /dev/vde is no longer mounted there",
      "not carried: /srv/span (/dev/mapper/span-lv, xfs) from /etc/fstab: /dev/mapper/span-lv is on the target disk /dev/vda, which the migration rewrites: its data is gone unless carryOver.paths lists /srv/span",
    ]);
    expect(new Set(captured.warnings.map((w) => w.id))).toEqual(new Set(["mount-not-carried"]));
  });

  test("a bind of a path the migration replaces is left, by mount point", () => {
    const { warnings } = captureMounts(oldRoot("/var/lib/app/www /var/www none bind 0 0\n"), FACTS);
    expect(warnings.map((w) => w.message)).toEqual(["not carried: /var/www (/var/lib/app/www, none) from /etc/fstab: a bind mount of /var/lib/app/www, a path on the target disk (no carried filesystem holds it)"]);
  });

  test("swap on another disk is said to be left (the model carries no swap)", () => {
    const { warnings } = captureMounts(oldRoot("UUID=5b1f3c2e-8d4a-4f6b-9e21-7c3d2a1b0f9e none swap sw 0 0\n"), FACTS);
    expect(warnings.map((w) => w.message)).toEqual(["not carried: none (UUID=5b1f3c2e-8d4a-4f6b-9e21-7c3d2a1b0f9e, swap) from /etc/fstab: swap on /dev/vdc1 (/dev/vdc), another disk: swap is not carried"]);
  });

  test("spec resolution follows udev's links, never guesses from names", () => {
    const root = oldRoot();
    expect(deviceOf("PARTUUID=00000000-01", root, DEVICES)).toBeUndefined();
    expect(deviceOf('UUID="5b1f3c2e-8d4a-4f6b-9e21-7c3d2a1b0f9e"', root, DEVICES)).toBe("/dev/vdc1");
    expect(deviceOf("/dev/archive/old", root, DEVICES)).toBe("/dev/mapper/archive-old");
    expect(deviceOf("/dev/vdb1", root, DEVICES)).toBe("/dev/vdb1");
  });

  test("the pre-flight lists what is carried and warns by mount point", () => {
    const check = checkCarriedMounts({ config: { mounts: captured.mounts, warnings: captured.warnings } as never, mountsLeft: captured.left });
    expect(check.severity).toBe("warning");
    expect(check.finding).toContain("/scratch (LABEL=scratch): /dev/vda3 is on the target disk /dev/vda");
    expect(check.finding).toContain("carried into the new fstab: /var/log/archive (/dev/mapper/archive-logs, xfs, other-disk, nofail added)");
    expect(check.remedy).toContain("nofail");
  });
});

const carried = (over: Partial<CapturedMount> = {}): CapturedMount => ({ spec: "/dev/mapper/archive-logs", mountPoint: "/var/log/archive", type: "xfs", options: "defaults", dump: 0, pass: 0, lives: "other-disk", ...over });

/** A Debian 13 payload's fstab as its image builder wrote it. */
const NEW_FSTAB = "# /etc/fstab: static file system information.\n/dev/mapper/VA-root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n/dev/mapper/VA-data /data ext4 defaults 0 2\n";

describe("the new fstab", () => {
  test("carried entries are appended in one marked block, nofail added where neither nofail nor noauto is", () => {
    const nfs = carried({ spec: "nas01:/export/app", mountPoint: "/mnt/nas", type: "nfs4", options: "rw,hard,_netdev", lives: "network" });
    const usb = carried({ spec: "UUID=5b1f3c2e-8d4a-4f6b-9e21-7c3d2a1b0f9e", mountPoint: "/srv/backup", type: "ext4", options: "noauto", dump: 1, pass: 2 });
    const { text } = withCarriedMounts(NEW_FSTAB, [carried(), nfs, usb]);
    expect(text).toBe(
      `${NEW_FSTAB}\n# carried over by va-agent: filesystems the old system mounted from other disks and the network\n` +
        "/dev/mapper/archive-logs\t/var/log/archive\txfs\tdefaults,nofail\t0\t0\n" +
        "nas01:/export/app\t/mnt/nas\tnfs4\trw,hard,_netdev,nofail\t0\t0\n" +
        "UUID=5b1f3c2e-8d4a-4f6b-9e21-7c3d2a1b0f9e\t/srv/backup\text4\tnoauto\t1\t2\n" +
        "# end of what va-agent carried over\n",
    );
  });

  test("a re-run replaces the block as a whole: the same text, and an emptied list removes it", () => {
    const once = withCarriedMounts(NEW_FSTAB, [carried()]).text;
    expect(withCarriedMounts(once, [carried()]).text).toBe(once);
    expect(withCarriedMounts(`${once}tmpfs /run/app tmpfs size=10m 0 0\n`, [carried()]).text).toBe(`${NEW_FSTAB}tmpfs /run/app tmpfs size=10m 0 0\n\n${once.slice(NEW_FSTAB.length + 1)}`);
    expect(withCarriedMounts(once, []).text).toBe(NEW_FSTAB);
  });

  test("a mount point the new fstab already has is not carried twice", () => {
    const result = withCarriedMounts(NEW_FSTAB, [carried({ mountPoint: "/data" })]);
    expect(result.text).toBe(NEW_FSTAB);
    expect(result.clashing.map((m) => m.mountPoint)).toEqual(["/data"]);
  });

  test("nofail is added once", () => {
    expect(carriedOptions("defaults")).toBe("defaults,nofail");
    expect(carriedOptions("defaults,nofail")).toBe("defaults,nofail");
    expect(carriedOptions("noauto,user")).toBe("noauto,user");
  });
});
