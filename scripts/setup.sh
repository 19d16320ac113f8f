#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on a fresh Debian 12 machine (as root):
# Debian packages, then the pinned npm dependencies from the lockfile. Idempotent and quick when warm.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  qemu-system-x86 qemu-utils   # the VMs: old appliance, tiny system, new system (TCG)
  debootstrap                  # Debian 11 (old) and Debian 13 (new) roots
  gdisk fdisk                  # sgdisk for the reference layout
  e2fsprogs xfsprogs           # filesystem images (command disks, builder image)
  cpio zstd xz-utils           # initramfs inspection, payload compression
  dracut-core                  # lsinitrd / skipcpio to inspect initramfs images in tests
  grub-common                  # grub-script-check: the GRUB scripts the agent writes are syntax-checked in unit tests
  grub-emu                     # runs the slot boot selection (grub.cfg) in user space in unit tests
  busybox-static               # the guest of test/bench/tcg-text-poke.ts (docs/QEMU.md)
  ca-certificates git
)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "[setup] installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ ! -x node_modules/.bin/bun || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "[setup] npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "[setup] ready: $(node_modules/.bin/bun --version) bun, $(qemu-system-x86_64 --version | head -1)"
