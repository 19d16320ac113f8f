#!/bin/bash
# Host side: configure a debootstrapped bullseye root like a CentOS 7 appliance.
# Usage: configure-root.sh ROOT   (run as root; chroot calls need no mounts)
set -euo pipefail
R=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ch() { LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin chroot "$R" "$@"; }

echo va-old > "$R/etc/hostname"
install -m 0644 "$HERE/hosts" "$R/etc/hosts"
install -m 0644 "$HERE/interfaces" "$R/etc/network/interfaces"
install -D -m 0644 "$HERE/10-lan0.link" "$R/etc/systemd/network/10-lan0.link"
rm -f "$R/etc/resolv.conf"
install -m 0644 "$HERE/resolv.conf" "$R/etc/resolv.conf"
install -m 0644 "$HERE/grub.default" "$R/etc/default/grub"

# Accounts: SHA-512 crypt hashes as CentOS 7 (bullseye's PAM default would be yescrypt)
echo 'root:va-old-root' | ch chpasswd -c SHA512
ch useradd -m -s /bin/bash -G sudo admin
echo 'admin:va-admin' | ch chpasswd -c SHA512

# Test hook
install -m 0755 "$HERE/va-test-hook" "$R/usr/local/sbin/va-test-hook"
install -m 0644 "$HERE/va-test-hook.service" "$R/etc/systemd/system/va-test-hook.service"
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/va-test-hook.service "$R/etc/systemd/system/multi-user.target.wants/va-test-hook.service"

# The guest-side builder (removed from the installed system by itself)
install -m 0755 "$HERE/build-appliance" "$R/usr/local/sbin/build-appliance"

# initramfs: lvm root on xfs, virtio disks (MODULES=most already covers them; be explicit)
printf '%s\n' xfs dm_mod virtio_blk virtio_pci virtio_scsi ahci nvme >> "$R/etc/initramfs-tools/modules"

# User data
install -d -m 0755 "$R/srv/appdata" "$R/srv/appdata/records"
cat > "$R/srv/appdata/config.json" <<'JSON'
{
  "appliance": "va-old",
  "listen": "192.0.2.10:443",
  "admin": "admin",
  "features": ["reports", "backup"],
  "licence": "VA-TEST-0000-1111"
}
JSON
ch chown root:admin /srv/appdata/config.json
chmod 0640 "$R/srv/appdata/config.json"
printf 'id,name,value\n1,alpha,10\n2,beta,20\n3,gamma,30\n' > "$R/srv/appdata/records/2024-01.csv"
chmod 0644 "$R/srv/appdata/records/2024-01.csv"
head -c 65536 /dev/urandom > "$R/srv/appdata/records/blob.bin"
chmod 0600 "$R/srv/appdata/records/blob.bin"
printf '#!/bin/sh\necho report\n' > "$R/srv/appdata/records/report.sh"
chmod 0750 "$R/srv/appdata/records/report.sh"
ch chown -R admin:admin /srv/appdata/records

# Keep the image small
ch apt-get clean
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin
echo "configure-root: done"
