// The tools the tiny system needs that trixie's stock dracut image (no-hostonly, "systemd lvm dm")
// lacks or that we want in a known version. Each comes from the sysroot with its shared libraries.
// This list is the one place to change when a step starts calling a new tool.

export interface Tool {
  /** Program name, looked up in usr/sbin, usr/bin, sbin, bin of the sysroot. */
  name: string;
  /** Which step (or part of the agent) calls it. */
  usedBy: string;
  /** Extra files (absolute paths inside the sysroot) the tool reads at run time. */
  files?: string[];
  /** Extra directories (absolute paths inside the sysroot), copied whole: data files, not programs. */
  dirs?: string[];
}

export const TOOLS: readonly Tool[] = [
  { name: "bash", usedBy: "zx: every command the runner starts (zx quotes with $'…' and sets pipefail)" },
  { name: "chroot", usedBy: "finalize: grub-install, dracut and update-initramfs inside the new root" },
  { name: "sgdisk", usedBy: "repartition: load va.sgdisk, fix the backup GPT header, grow the LVM partition" },
  { name: "mke2fs", usedBy: "mkfs: ext4 for /boot and the root LVs", files: ["/etc/mke2fs.conf"] },
  { name: "mkfs.ext4", usedBy: "mkfs: ext4 (symlink to mke2fs, which picks the type from argv[0])" },
  { name: "e2fsck", usedBy: "mkfs/verify: check filesystems before tune2fs and after extraction" },
  { name: "tune2fs", usedBy: "finalize: set the /boot filesystem UUID the new root's fstab names" },
  { name: "mkfs.xfs", usedBy: "mkfs: xfs LVs when the manifest asks for xfs" },
  { name: "xfs_admin", usedBy: "finalize: set an xfs filesystem UUID (a shell script around xfs_db)" },
  { name: "xfs_db", usedBy: "xfs_admin calls it" },
  { name: "tar", usedBy: "extract: unpack the rootfs payload with owners, xattrs and SELinux labels" },
  { name: "xz", usedBy: "extract: decompress va.tar.xz" },
  { name: "zstd", usedBy: "extract: decompress va.tar.zst" },
  { name: "lsblk", usedBy: "probe: find the target disk and its partitions (JSON output)" },
  { name: "blkid", usedBy: "probe/finalize: filesystem types and UUIDs" },
  { name: "findmnt", usedBy: "probe/cleanup: what is mounted where" },
  { name: "wipefs", usedBy: "repartition: wipe old signatures so no tool stops at a 'Wipe it?' prompt" },
  { name: "partx", usedBy: "repartition: make the kernel re-read the partition table" },
  { name: "blockdev", usedBy: "repartition: disk size, flush buffers, re-read partition table" },
  { name: "sync", usedBy: "every step that writes before a reboot or poweroff" },
  {
    name: "grub-install",
    usedBy: "arm-resume-boot: GRUB on the new disk booting the tiny system until the new system's own GRUB replaces it",
    dirs: ["/usr/lib/grub/i386-pc"],
  },
  {
    name: "grub-mkimage",
    usedBy: "write-staged-boot: the core image that boots the tiny system from the staged files during window A",
  },
  { name: "filefrag", usedBy: "prepare: map the staged files to disk sectors (FIEMAP) for the staged boot" },
  { name: "dmsetup", usedBy: "prepare: follow the old root LV's linear segments to disk sectors" },
  { name: "grub-probe", usedBy: "arm-resume-boot: diagnosing what grub-install sees, from the shell" },
];
