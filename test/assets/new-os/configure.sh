#!/bin/bash
# Runs inside the freshly debootstrapped Debian 13 root (chroot, /proc /sys /dev mounted).
# Files to install were copied to /tmp/va-files by new-os.ts; @BOOT_UUID@ is already substituted.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
F=/tmp/va-files

# No daemons may start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d

# dracut replaces initramfs-tools (it cannot go into debootstrap's --include).
apt-get update
apt-get install -y --no-install-recommends dracut
apt-get purge -y initramfs-tools initramfs-tools-core || true
if dpkg-query -W -f='${Status}' initramfs-tools 2>/dev/null | grep -q 'install ok'; then
  echo "initramfs-tools still installed" >&2
  exit 1
fi

# The vendor ships a GENERIC initramfs (no-hostonly: every driver, lvm), right for any machine, so
# a manifest may skip the rebuild in the tiny system (bootloader.rebuildInitramfs=false) and save
# minutes of downtime. The host-only image the package hooks made here would be wrong: replace it.
rm -f /boot/initrd.img-* /boot/initramfs-*
for kver in $(ls /lib/modules); do
  dracut --no-hostonly --no-hostonly-cmdline --add "lvm" --force --kver "$kver" "/boot/initrd.img-$kver"
done

echo va-new >/etc/hostname
cat >/etc/hosts <<'HOSTS'
127.0.0.1	localhost
127.0.1.1	va-new
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
HOSTS

install -m 644 "$F/fstab" /etc/fstab
install -m 644 "$F/grub.default" /etc/default/grub
install -D -m 644 "$F/dracut-10-va.conf" /etc/dracut.conf.d/10-va.conf
install -D -m 755 "$F/va-probe" /usr/local/sbin/va-probe
install -D -m 644 "$F/va-probe.service" /etc/systemd/system/va-probe.service
mkdir -p /data /back /var/lib/va-agent

echo 'root:va-new-root' | chpasswd
# The appliance's own administrator account (its password is carried over from the old system).
id admin >/dev/null 2>&1 || useradd --create-home --uid 1000 --user-group --shell /bin/bash admin
echo 'admin:va-new-admin' | chpasswd

systemctl enable va-probe.service
# A first boot must never stop at an interactive prompt on the console.
systemctl mask systemd-firstboot.service
# Each installed box gets its own machine-id on first boot.
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id

rm -f /usr/sbin/policy-rc.d
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/log/dpkg.log /var/log/bootstrap.log
rm -rf "$F"
