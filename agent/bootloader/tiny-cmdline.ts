// Kernel command line of the tiny system (trixie kernel + stock dracut image + va-agent overlay).
// The console (console=ttyS0 in tests, the appliance's console in the field) and va.mode=/
// va.poweroff= are added by whoever writes the boot entry.
//
// Measured under QEMU TCG (-cpu Nehalem -smp 2, 2 GiB, 1 GiB virtio disk, no root=) on a host
// shared with a second VM (load ≈ 3 on 2 cores), stub agent, seconds from QEMU start to the agent's
// first line:  plain "rd.break=pre-mount" 45.5;  TINY_CMDLINE 39.4 and 41.0 (28.5 once the other
// VM had stopped; the wrapper printed "25.1 s after kernel start").  Add ~5–10 s when the
// guest has no entropy source: bun blocks in getrandom() until "random: crng init done"
// (give test VMs -device virtio-rng-pci; real appliances have entropy).
//
// No root= on purpose: with a root device dracut waits for it (rd.timeout, ~20 s or more); without
// one the initqueue finishes at once, so rd.timeout= and rd.retry= have nothing to tune here.
// Because the initqueue does not wait for udev in that case, the overlay's start script runs
// `udevadm settle` before the agent (under TCG virtio_blk was probed seconds after the hook).

export const TINY_CMDLINE_ARGS: readonly string[] = [
  // Stop before mounting any root and run dracut-emergency.service, which the overlay replaces with
  // the va-agent wrapper. Without it the boot ends in systemd's emergency.service (sulogin).
  "rd.break=pre-mount",
  // Do not let dracut activate LVM: the agent decides which VGs to activate (the old "centos" VG,
  // the new "VA" VG) and dracut's activation would race with its wipefs/pvcreate.
  "rd.lvm=0",
  // No mdraid assembly: appliances do not use it and an assembled array would hold the disk busy.
  "rd.md=0",
  // No dmraid (fake-RAID) activation, for the same reason.
  "rd.dm=0",
  // No LUKS: a crypted device would stop the boot at a password prompt nobody answers.
  "rd.luks=0",
  // udev (and dracut's udev rules) log errors only: less serial output before the hook.
  "rd.udev.log_level=3",
  // No systemd status lines ("[ OK ] Started …") on the console: they cost serial time and bury the
  // agent's own output.
  "systemd.show_status=0",
  // Kernel messages below warning stay in dmesg instead of the (slow, 115200 baud) serial console;
  // the agent and its wrapper print what the operator needs.
  "quiet",
  // A kernel panic reboots after 10 s instead of hanging: before the point of no return the next
  // boot is the old system (the one-time entry is spent), after it the resume entry. Seen under
  // TCG in fault injection (an int3 Oops in sched_clock_cpu during boot, then a hang).
  "panic=10",
];

export const TINY_CMDLINE = TINY_CMDLINE_ARGS.join(" ");
