import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { captureIfupdown } from "../../agent/carry-over/capture-ifupdown.ts";
import type { CapturedConfig, CapturedInterface, CapturedIpv6 } from "../../agent/carry-over/captured-config.ts";
import type { FoundInterface, NetworkFindings } from "../../agent/carry-over/network-findings.ts";
import { ifupdownPackagesNeeded, ifupdownRefusals, IFUPDOWN_CARRIED_FILE, renderIfupdown, withInterfacesDirSourced } from "../../agent/carry-over/render-ifupdown.ts";
import { writeRenderedFile } from "../../agent/carry-over/rendered-file.ts";

const RESOLVCONF_HOOK = { "/etc/network/if-up.d/000resolvconf": "#!/bin/sh\n" };

function rootWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "va-ifupdown-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

function capture(files: Record<string, string>): NetworkFindings {
  return captureIfupdown(rootWith(files));
}

function iface(findings: NetworkFindings, name: string): FoundInterface | undefined {
  return findings.interfaces.find((i) => i.name === name);
}

/** An interface ifupdown brings up without an inet6 stanza: the kernel's accept_ra 1 and autoconf 1, router advertisements and SLAAC. */
const KERNEL_IPV6: CapturedIpv6 = { autoconf: true, dhcp: false, addresses: [], routes: [] };

const ids = (findings: NetworkFindings) => findings.warnings.map((w) => w.id);
const warningOf = (findings: NetworkFindings, id: string) => findings.warnings.find((w) => w.id === id);

describe("capture from Debian ifupdown: installer and distribution defaults", () => {
  // Debian 12 netinst, static: allow-hotplug, CIDR address, the installer's indented comment, IPv6 SLAAC stanza.
  const debianStatic = `# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug ens3
iface ens3 inet static
	address 192.168.122.10/24
	gateway 192.168.122.1
	# dns-* options are implemented by the resolvconf package, if installed
	dns-nameservers 192.168.122.1
	dns-search example.lan

# This is an autoconfigured IPv6 interface
iface ens3 inet6 auto
`;

  test("Debian netinst static: allow-hotplug is boot, inet6 auto is SLAAC, dns-* kept out without resolvconf", () => {
    const findings = capture({ "/etc/network/interfaces": debianStatic, "/etc/network/interfaces.d/.keep": "" });
    expect(findings.interfaces).toEqual([
      {
        name: "ens3",
        kind: "ethernet",
        activation: "boot",
        source: "/etc/network/interfaces",
        ipv4: { dhcp: false, addresses: [{ address: "192.168.122.10", prefix: 24 }], gateway: { via: "192.168.122.1" }, routes: [] },
        ipv6: { autoconf: true, dhcp: false, addresses: [], routes: [] },
      },
    ]);
    expect(findings.dns).toEqual({ servers: [], search: [] });
    expect(findings.warnings).toEqual([
      {
        id: "dns-not-applied",
        message: "/etc/network/interfaces:16: dns-* lines of ens3 have no effect and are left out: no installed hook passes them on (resolvconf, or ifupdown's own to an enabled systemd-resolved); the resolver reads /etc/resolv.conf",
        interface: "ens3",
      },
    ]);
  });

  test("the same file with resolvconf installed: its name servers and search domains count", () => {
    const findings = capture({ "/etc/network/interfaces": debianStatic, ...RESOLVCONF_HOOK });
    expect(findings.dns).toEqual({ servers: ["192.168.122.1"], search: ["example.lan"] });
    expect(findings.warnings).toEqual([]);
  });

  test("ifupdown's own hook feeds an enabled systemd-resolved, but not from lo", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto lo\niface lo inet loopback\n    dns-nameservers 192.0.2.53\n\nauto eth0\niface eth0 inet dhcp\n    dns-nameservers 192.0.2.1, 192.0.2.2\n`,
      "/etc/network/if-up.d/resolved": "#!/bin/sh\n",
      "/etc/systemd/system/multi-user.target.wants/systemd-resolved.service": "[Unit]\n",
    });
    expect(findings.dns.servers).toEqual(["192.0.2.1", "192.0.2.2"]);
    expect(ids(findings)).toEqual(["dns-not-applied"]);
  });

  test("the interfaces(5) example: auto + dhcp + inet6 auto, allow-hotplug + static IPv4 and IPv6", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto eth0
allow-hotplug eth1

iface eth0 inet dhcp

iface eth0 inet6 auto

iface eth1 inet static
	address 192.168.1.2/24
	gateway 192.168.1.1

iface eth1 inet6 static
	address fec0:0:0:1::2/64
	gateway fec0:0:0:1::1
`,
    });
    expect(findings.interfaces).toEqual([
      { name: "eth0", kind: "ethernet", activation: "boot", source: "/etc/network/interfaces", ipv4: { dhcp: true, addresses: [], routes: [] }, ipv6: { autoconf: true, dhcp: false, addresses: [], routes: [] } },
      {
        name: "eth1",
        kind: "ethernet",
        activation: "boot",
        source: "/etc/network/interfaces",
        ipv4: { dhcp: false, addresses: [{ address: "192.168.1.2", prefix: 24 }], gateway: { via: "192.168.1.1" }, routes: [] },
        // A gateway without accept_ra makes ifupdown write accept_ra=0: no router advertisements.
        ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "fec0:0:0:1::2", prefix: 64 }], gateway: { via: "fec0:0:0:1::1" }, routes: [] },
      },
    ]);
    expect(findings.warnings).toEqual([]);
  });

  test("Ubuntu 14.04 server install: netmask, network and broadcast lines, resolvconf installed by default", () => {
    const findings = capture({
      "/etc/network/interfaces": `# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
auto eth0
iface eth0 inet static
	address 10.0.2.15
	netmask 255.255.255.0
	network 10.0.2.0
	broadcast 10.0.2.255
	gateway 10.0.2.2
	# dns-* options are implemented by the resolvconf package, if installed
	dns-nameservers 10.0.2.3 8.8.8.8
	dns-search example.com
`,
      ...RESOLVCONF_HOOK,
    });
    expect(iface(findings, "eth0")?.ipv4).toEqual({ dhcp: false, addresses: [{ address: "10.0.2.15", prefix: 24 }], gateway: { via: "10.0.2.2" }, routes: [] });
    expect(iface(findings, "eth0")?.ipv6).toEqual(KERNEL_IPV6);
    expect(findings.dns).toEqual({ servers: ["10.0.2.3", "8.8.8.8"], search: ["example.com"] });
    expect(findings.warnings).toEqual([]);
  });

  test("Ubuntu 16.04 cloud image: source interfaces.d/*.cfg reads cloud-init's file and skips others", () => {
    const findings = capture({
      "/etc/network/interfaces": "# ifupdown has been replaced by netplan(5) on this system.\nauto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*.cfg\n",
      "/etc/network/interfaces.d/50-cloud-init.cfg": "auto lo\niface lo inet loopback\n\nauto ens3\niface ens3 inet dhcp\n",
      "/etc/network/interfaces.d/50-cloud-init.cfg.bak": "auto ens9\niface ens9 inet dhcp\n",
    });
    expect(findings.interfaces.map((i) => [i.name, i.source])).toEqual([["ens3", "/etc/network/interfaces.d/50-cloud-init.cfg"]]);
  });
});

describe("capture from ifupdown: hosting templates and cloud-init", () => {
  test("Hetzner installimage: route(8) up line with dev, inet6 netmask as bits, link-local gateway, lo inet6 loopback", () => {
    const findings = capture({
      "/etc/network/interfaces": `### Hetzner Online GmbH installimage

source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
iface lo inet6 loopback

auto enp0s31f6
iface enp0s31f6 inet static
  address 203.0.113.66
  netmask 255.255.255.192
  gateway 203.0.113.65
  # route 203.0.113.64/26 via 203.0.113.65
  up route add -net 203.0.113.64 netmask 255.255.255.192 gw 203.0.113.65 dev enp0s31f6

iface enp0s31f6 inet6 static
  address 2001:db8:1:2::2
  netmask 64
  gateway fe80::1
`,
    });
    expect(findings.interfaces).toEqual([
      {
        name: "enp0s31f6",
        kind: "ethernet",
        activation: "boot",
        source: "/etc/network/interfaces",
        ipv4: { dhcp: false, addresses: [{ address: "203.0.113.66", prefix: 26 }], gateway: { via: "203.0.113.65" }, routes: [{ to: "203.0.113.64/26", via: "203.0.113.65" }] },
        ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:1:2::2", prefix: 64 }], gateway: { via: "fe80::1" }, routes: [] },
      },
    ]);
    expect(findings.warnings).toEqual([]);
  });

  test("Hetzner's older point-to-point template: pointopoint is named, not dropped in silence", () => {
    const findings = capture({
      "/etc/network/interfaces": "auto eth0\niface eth0 inet static\n  address 203.0.113.66\n  netmask 255.255.255.255\n  gateway 203.0.113.65\n  pointopoint 203.0.113.65\n",
    });
    expect(iface(findings, "eth0")?.ipv4?.addresses).toEqual([{ address: "203.0.113.66", prefix: 32 }]);
    expect(findings.warnings).toEqual([
      { id: "ifupdown-option", message: "not carried: /etc/network/interfaces:6: option `pointopoint 203.0.113.65` of eth0", interface: "eth0" },
    ]);
  });

  test("OVH template: /sbin/ip -6 post-up routes to a gateway outside the prefix, pre-down clean-up ignored", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto eth0
iface eth0 inet static
	address 198.51.100.23
	netmask 255.255.255.0
	network 198.51.100.0
	broadcast 198.51.100.255
	gateway 198.51.100.254

iface eth0 inet6 static
	address 2001:db8:2000:1234::1
	netmask 64
	post-up /sbin/ip -6 route add 2001:db8:2000:12ff:ff:ff:ff:ff dev eth0
	post-up /sbin/ip -6 route add default via 2001:db8:2000:12ff:ff:ff:ff:ff dev eth0
	pre-down /sbin/ip -6 route del default via 2001:db8:2000:12ff:ff:ff:ff:ff dev eth0
	pre-down /sbin/ip -6 route del 2001:db8:2000:12ff:ff:ff:ff:ff dev eth0
`,
    });
    expect(iface(findings, "eth0")?.ipv6).toEqual({
      autoconf: false,
      dhcp: false,
      addresses: [{ address: "2001:db8:2000:1234::1", prefix: 64 }],
      gateway: { via: "2001:db8:2000:12ff:ff:ff:ff:ff" },
      routes: [{ to: "2001:db8:2000:12ff:ff:ff:ff:ff/128" }],
    });
    // No gateway option and no accept_ra: the kernel keeps accepting router advertisements, autoconf is 0.
    expect(findings.warnings.map((w) => [w.id, w.interface])).toEqual([["ipv6-ra-without-autoconf", "eth0"]]);
  });

  test("cloud-init's ENI renderer: DNS on lo, post-up route add -net … || true, control-alias and control-manual", () => {
    const findings = capture({
      "/etc/network/interfaces": "auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*.cfg\n",
      "/etc/network/interfaces.d/50-cloud-init.cfg": `# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.  To disable cloud-init's
# network configuration capabilities, write a file
# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:
# network: {config: disabled}
auto lo
iface lo inet loopback
    dns-nameservers 10.10.0.2 10.10.0.3
    dns-search cloud.example

auto eth0
iface eth0 inet static
    address 10.10.1.20/24
    gateway 10.10.1.1
    mtu 9001
    post-up route add -net 10.20.0.0 netmask 255.255.0.0 gw 10.10.1.254 metric 3 || true
    pre-down route del -net 10.20.0.0 netmask 255.255.0.0 gw 10.10.1.254 metric 3 || true

# control-alias eth0
iface eth0 inet6 static
    address 2001:db8:10::20/64
    gateway 2001:db8:10::1

# control-manual eth1
iface eth1 inet dhcp
`,
      ...RESOLVCONF_HOOK,
    });
    expect(findings.interfaces).toEqual([
      {
        name: "eth0",
        kind: "ethernet",
        activation: "boot",
        source: "/etc/network/interfaces.d/50-cloud-init.cfg",
        mtu: 9001,
        ipv4: { dhcp: false, addresses: [{ address: "10.10.1.20", prefix: 24 }], gateway: { via: "10.10.1.1" }, routes: [{ to: "10.20.0.0/16", via: "10.10.1.254", metric: 3 }] },
        ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:10::20", prefix: 64 }], gateway: { via: "2001:db8:10::1" }, routes: [] },
      },
      { name: "eth1", kind: "ethernet", activation: "manual", source: "/etc/network/interfaces.d/50-cloud-init.cfg", ipv4: { dhcp: true, addresses: [], routes: [] }, ipv6: KERNEL_IPV6 },
    ]);
    expect(findings.dns).toEqual({ servers: ["10.10.0.2", "10.10.0.3"], search: ["cloud.example"] });
    expect(findings.warnings).toEqual([]);
  });

  test("cloud-init's IPv6 route as route(8) -A inet6, and its IPv6 route without it (which route(8) refuses): named", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto eth0
iface eth0 inet6 static
    address 2001:db8:10::20/64
    accept_ra 0
    post-up route add -A inet6 default gw 2001:db8:10::1 || true
    post-up route add -net 2001:db8:99:: netmask 48 gw 2001:db8:10::fe || true
`,
    });
    expect(iface(findings, "eth0")?.ipv6?.gateway).toEqual({ via: "2001:db8:10::1" });
    expect(iface(findings, "eth0")?.ipv6?.routes).toEqual([]);
    expect(findings.warnings).toEqual([
      {
        id: "ifupdown-option",
        message: 'not carried: /etc/network/interfaces:6: command (destination "2001:db8:99::" netmask 48 is not understood) `post-up route add -net 2001:db8:99:: netmask 48 gw 2001:db8:10::fe || true` of eth0',
        interface: "eth0",
      },
    ]);
  });
});

describe("capture from ifupdown: bonds, VLANs, bridges", () => {
  test("Debian wiki bonding: bond-slaves on the bond; its ports need no stanza and come up with it", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto bond0
iface bond0 inet static
    address 10.31.1.5
    netmask 255.255.255.0
    network 10.31.1.0
    gateway 10.31.1.254
    bond-slaves eth0 eth1
    bond-mode active-backup
    bond-miimon 100
    bond-downdelay 200
    bond-updelay 200
    bond-primary eth0
`,
    });
    expect(findings.interfaces).toEqual([
      {
        name: "bond0",
        kind: "bond",
        activation: "boot",
        source: "/etc/network/interfaces",
        bond: { mode: "active-backup", miimon: 100, updelay: 200, downdelay: 200, primary: "eth0" },
        ipv4: { dhcp: false, addresses: [{ address: "10.31.1.5", prefix: 24 }], gateway: { via: "10.31.1.254" }, routes: [] },
        ipv6: KERNEL_IPV6,
      },
      { name: "eth0", kind: "ethernet", activation: "boot", source: "/etc/network/interfaces", controller: "bond0" },
      { name: "eth1", kind: "ethernet", activation: "boot", source: "/etc/network/interfaces", controller: "bond0" },
    ]);
    expect(findings.warnings).toEqual([]);
  });

  test("LACP in numbers: bond-mode 4, bond-lacp-rate 1, bond-xmit-hash-policy 1", () => {
    const findings = capture({
      "/etc/network/interfaces": "auto bond0\niface bond0 inet dhcp\n    bond-slaves eno1 eno2\n    bond-mode 4\n    bond-miimon 100\n    bond-lacp-rate 1\n    bond-xmit-hash-policy 1\n",
    });
    expect(iface(findings, "bond0")?.bond).toEqual({ mode: "802.3ad", miimon: 100, lacpRate: "fast", xmitHashPolicy: "layer3+4" });
  });

  test("cloud-init's bond: bond-master on ports with the same bond options, bond-slaves none, hwaddress, a VLAN on it", () => {
    const port = (name: string) => `auto ${name}\niface ${name} inet manual\n    bond-master bond0\n    bond-mode 802.3ad\n    bond-xmit-hash-policy layer3+4\n    bond_miimon 100\n`;
    const findings = capture({
      "/etc/network/interfaces": `${port("eth0")}\n${port("eth1")}
auto bond0
iface bond0 inet static
    address 192.168.0.2/24
    gateway 192.168.0.1
    bond-mode 802.3ad
    bond-slaves none
    bond-xmit-hash-policy layer3+4
    bond_miimon 100
    hwaddress aa:bb:cc:dd:ee:ff

auto bond0.200
iface bond0.200 inet dhcp
    vlan-raw-device bond0
    vlan_id 200
`,
    });
    expect(findings.interfaces).toEqual([
      { name: "eth0", kind: "ethernet", activation: "boot", source: "/etc/network/interfaces", controller: "bond0" },
      { name: "eth1", kind: "ethernet", activation: "boot", source: "/etc/network/interfaces", controller: "bond0" },
      {
        name: "bond0",
        kind: "bond",
        activation: "boot",
        source: "/etc/network/interfaces",
        mac: "aa:bb:cc:dd:ee:ff",
        bond: { mode: "802.3ad", miimon: 100, xmitHashPolicy: "layer3+4" },
        ipv4: { dhcp: false, addresses: [{ address: "192.168.0.2", prefix: 24 }], gateway: { via: "192.168.0.1" }, routes: [] },
        ipv6: KERNEL_IPV6,
      },
      { name: "bond0.200", kind: "vlan", activation: "boot", source: "/etc/network/interfaces", vlan: { id: 200, parent: "bond0" }, ipv4: { dhcp: true, addresses: [], routes: [] }, ipv6: KERNEL_IPV6 },
    ]);
    expect(findings.warnings).toEqual([]);
  });

  test("Debian wiki VLANs: eth0.222 (ifupdown's own), vlan10 with vlan-raw-device and vlan20 with vlan_raw_device (the vlan package)", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto eth0
iface eth0 inet static
    address 192.168.1.5/24

auto eth0.222
iface eth0.222 inet static
    address 10.10.10.1/24

auto vlan10
iface vlan10 inet static
        address 10.0.0.1
        netmask 255.255.255.0
        vlan-raw-device eth0

auto vlan0020
iface vlan0020 inet manual
        vlan_raw_device eth0
`,
    });
    expect(findings.interfaces.map((i) => [i.name, i.kind, i.vlan])).toEqual([
      ["eth0", "ethernet", undefined],
      ["eth0.222", "vlan", { id: 222, parent: "eth0" }],
      ["vlan10", "vlan", { id: 10, parent: "eth0" }],
      ["vlan0020", "vlan", { id: 20, parent: "eth0" }],
    ]);
    expect(iface(findings, "vlan0020")?.ipv4).toBeUndefined();
  });

  test("a VLAN whose raw device has no stanza: ifupdown brings the raw device up with it", () => {
    const findings = capture({ "/etc/network/interfaces": "auto eth1.100\niface eth1.100 inet static\n    address 10.1.0.5/24\n" });
    expect(iface(findings, "eth1")).toEqual({ name: "eth1", kind: "ethernet", activation: "boot", source: "/etc/network/interfaces", ipv6: KERNEL_IPV6 });
  });

  test("Debian wiki bridge: bridge_ports, manual ports; the wiki's end-of-line comments are values to ifupdown", () => {
    const findings = capture({
      "/etc/network/interfaces": `iface eth0 inet manual
iface eth1 inet manual

auto br0
iface br0 inet dhcp
	bridge_ports eth0 eth1
	bridge_stp off       # disable Spanning Tree Protocol
	bridge_waitport 0    # no delay before a port becomes available
	bridge_fd 0          # no forwarding delay
`,
    });
    expect(findings.interfaces).toEqual([
      { name: "eth0", kind: "ethernet", activation: "boot", source: "/etc/network/interfaces", controller: "br0" },
      { name: "eth1", kind: "ethernet", activation: "boot", source: "/etc/network/interfaces", controller: "br0" },
      { name: "br0", kind: "bridge", activation: "boot", source: "/etc/network/interfaces", bridge: { stp: false }, ipv4: { dhcp: true, addresses: [], routes: [] }, ipv6: KERNEL_IPV6 },
    ]);
    expect(findings.warnings).toEqual([
      { id: "ifupdown-invalid-value", message: 'not carried: /etc/network/interfaces:7: bridge-stp "off # disable Spanning Tree Protocol" of br0 is not a valid value', interface: "br0" },
      { id: "ifupdown-invalid-value", message: 'not carried: /etc/network/interfaces:9: bridge-fd "0 # no forwarding delay" of br0 is not a valid value', interface: "br0" },
    ]);
  });

  test("Proxmox VE default: vmbr0 on eno1 (inet manual, no auto), a bridge with bridge-ports none, sourced interfaces.d", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
	address 192.168.1.10/24
	gateway 192.168.1.1
	bridge-ports eno1
	bridge-stp off
	bridge-fd 0

iface vmbr0 inet6 static
	address 2001:db8:5::10/64
	gateway 2001:db8:5::1

iface wlp2s0 inet manual

source /etc/network/interfaces.d/*
`,
      "/etc/network/interfaces.d/sdn": "auto vmbr1\niface vmbr1 inet static\n\taddress 10.10.10.1/24\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n",
    });
    expect(findings.interfaces).toEqual([
      { name: "eno1", kind: "ethernet", activation: "boot", source: "/etc/network/interfaces", controller: "vmbr0" },
      {
        name: "vmbr0",
        kind: "bridge",
        activation: "boot",
        source: "/etc/network/interfaces",
        bridge: { stp: false, forwardDelay: 0 },
        ipv4: { dhcp: false, addresses: [{ address: "192.168.1.10", prefix: 24 }], gateway: { via: "192.168.1.1" }, routes: [] },
        ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:5::10", prefix: 64 }], gateway: { via: "2001:db8:5::1" }, routes: [] },
      },
      { name: "wlp2s0", kind: "ethernet", activation: "manual", source: "/etc/network/interfaces", ipv6: KERNEL_IPV6 },
      { name: "vmbr1", kind: "bridge", activation: "boot", source: "/etc/network/interfaces.d/sdn", bridge: { stp: false, forwardDelay: 0 }, ipv4: { dhcp: false, addresses: [{ address: "10.10.10.1", prefix: 24 }], routes: [] }, ipv6: KERNEL_IPV6 },
    ]);
    expect(findings.warnings).toEqual([]);
  });

  test("Proxmox VE LACP bond under a VLAN-aware bridge, management on vmbr0.100: VLAN filtering is named", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto lo
iface lo inet loopback

iface eno1 inet manual

iface eno2 inet manual

auto bond0
iface bond0 inet manual
	bond-slaves eno1 eno2
	bond-miimon 100
	bond-mode 802.3ad
	bond-xmit-hash-policy layer2+3

auto vmbr0
iface vmbr0 inet manual
	bridge-ports bond0
	bridge-stp off
	bridge-fd 0
	bridge-vlan-aware yes
	bridge-vids 2-4094

auto vmbr0.100
iface vmbr0.100 inet static
	address 10.0.100.5/24
	gateway 10.0.100.1

source /etc/network/interfaces.d/*
`,
    });
    expect(findings.interfaces.map((i) => [i.name, i.kind, i.activation, i.controller ?? i.vlan?.parent])).toEqual([
      ["eno1", "ethernet", "boot", "bond0"],
      ["eno2", "ethernet", "boot", "bond0"],
      ["bond0", "bond", "boot", "vmbr0"],
      ["vmbr0", "bridge", "boot", undefined],
      ["vmbr0.100", "vlan", "boot", "vmbr0"],
    ]);
    expect(iface(findings, "bond0")?.bond).toEqual({ mode: "802.3ad", miimon: 100, xmitHashPolicy: "layer2+3" });
    expect(iface(findings, "vmbr0")?.ipv4).toBeUndefined();
    expect(findings.warnings).toEqual([
      {
        id: "bridge-vlan-aware",
        message: "not carried: /etc/network/interfaces:20: vmbr0 is a VLAN-aware bridge (bridge-vids 2-4094): VLAN filtering is not carried, the bridge is carried without it",
        interface: "vmbr0",
      },
    ]);
  });
});

describe("capture from ifupdown: the file format", () => {
  test("source-directory takes run-parts names only; relative paths are relative to the sourcing file; loops end", () => {
    const findings = capture({
      "/etc/network/interfaces": "source-directory interfaces.d\nsource ../net-extra/*.conf\n",
      "/etc/network/interfaces.d/eth0": "auto eth0\niface eth0 inet dhcp\n",
      "/etc/network/interfaces.d/eth1.cfg": "auto eth1\niface eth1 inet dhcp\n",
      "/etc/network/interfaces.d/eth2~": "auto eth2\niface eth2 inet dhcp\n",
      "/etc/network/interfaces.d/Eth_3-b": "auto eth3\niface eth3 inet dhcp\nsource /etc/network/interfaces\n",
      "/etc/net-extra/eth4.conf": "auto eth4\niface eth4 inet dhcp\n",
      "/etc/net-extra/.eth5.conf": "auto eth5\niface eth5 inet dhcp\n",
    });
    expect(findings.interfaces.map((i) => [i.name, i.source])).toEqual([
      ["eth3", "/etc/network/interfaces.d/Eth_3-b"],
      ["eth0", "/etc/network/interfaces.d/eth0"],
      ["eth4", "/etc/net-extra/eth4.conf"],
    ]);
  });

  test("a line ending in a backslash goes on; a # is a comment only at the start of a line", () => {
    const findings = capture({
      "/etc/network/interfaces": "auto eth0\niface eth0 inet static\n    # a comment\n    address \\\n      192.0.2.10/24\n    up ip route add 198.51.100.0/24 \\\n        via 192.0.2.1\n",
    });
    expect(iface(findings, "eth0")?.ipv4).toEqual({ dhcp: false, addresses: [{ address: "192.0.2.10", prefix: 24 }], routes: [{ to: "198.51.100.0/24", via: "192.0.2.1" }] });
    expect(findings.warnings).toEqual([]);
  });

  test("options after an `auto` line or in a mapping are never merged into the stanza before", () => {
    const findings = capture({
      "/etc/network/interfaces": `iface eth0 inet static
    address 192.0.2.10/24
auto eth0
    gateway 192.0.2.1

mapping eth1
    script /usr/local/sbin/map-scheme
    map HOME eth1-home
`,
    });
    expect(iface(findings, "eth0")?.ipv4?.gateway).toBeUndefined();
    expect(findings.warnings).toEqual([
      { id: "ifupdown-misplaced-option", message: 'not carried: /etc/network/interfaces:4: "gateway 192.0.2.1" stands outside any iface stanza (ifupdown rejects such a file)' },
      { id: "ifupdown-mapping", message: "not carried: /etc/network/interfaces:6: mapping eth1: logical interface mappings (map scripts) are not carried" },
    ]);
  });

  test("activation: allow-auto is auto, another allow- class is manual and said so, no line at all is manual", () => {
    const findings = capture({
      "/etc/network/interfaces": "allow-auto eth0\niface eth0 inet dhcp\n\nallow-ovs eth1\niface eth1 inet dhcp\n\niface eth2 inet dhcp\n",
    });
    expect(findings.interfaces.map((i) => [i.name, i.activation])).toEqual([
      ["eth0", "boot"],
      ["eth1", "manual"],
      ["eth2", "manual"],
    ]);
    expect(findings.warnings).toEqual([
      { id: "ifupdown-allow-class", message: "not carried: /etc/network/interfaces:4 (allow-ovs): eth1 is brought up only by `ifup --allow` of that class; carried as not brought up at boot", interface: "eth1" },
    ]);
  });

  test("methods and families it does not carry are named, with their line", () => {
    const findings = capture({
      "/etc/network/interfaces": "auto ppp0\niface ppp0 inet ppp\n    provider isp\n\nauto he-ipv6\niface he-ipv6 inet6 v4tunnel\n    address 2001:db8:f::2\n    endpoint 192.0.2.1\n\niface eth0 ipx static\n\niface eth1 inet static inherits ethernet\n    address 192.0.2.3/24\n",
    });
    expect(findings.interfaces).toEqual([]);
    expect(findings.warnings.map((w) => w.message)).toEqual([
      "not carried: /etc/network/interfaces:2: iface ppp0 inet ppp: this family or method is not carried",
      "not carried: /etc/network/interfaces:6: iface he-ipv6 inet6 v4tunnel: this family or method is not carried",
      "not carried: /etc/network/interfaces:10: iface eth0 ipx static: this family or method is not carried",
      "not carried: /etc/network/interfaces:12: iface eth1 inet static inherits ethernet: templates (inherits) are not carried",
    ]);
  });

  test("malformed values: each named with file and line, the rest of the interface carried", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto eth0
iface eth0 inet static
    address 300.1.1.1
    netmask 255.0.255.0
    mtu jumbo
    gateway 192.0.2.1
    metric fast
    dns-nameservers 192.0.2.53 not-an-ip
    hwaddress ether 52:54:00:zz:00:01

auto bond0
iface bond0 inet manual
    bond-slaves eth1
    bond-mode fastest
    bond-miimon -1
`,
      ...RESOLVCONF_HOOK,
    });
    expect(iface(findings, "eth0")?.ipv4).toEqual({ dhcp: false, addresses: [], gateway: { via: "192.0.2.1" }, routes: [] });
    expect(iface(findings, "bond0")?.bond).toEqual({ mode: "balance-rr" });
    expect(findings.dns.servers).toEqual(["192.0.2.53"]);
    expect(findings.warnings.map((w) => w.message)).toEqual([
      'not carried: /etc/network/interfaces:5: mtu "jumbo" of eth0 is not a valid value',
      'not carried: /etc/network/interfaces:9: hwaddress "ether 52:54:00:zz:00:01" of eth0 is not a valid value',
      'not carried: /etc/network/interfaces:4: netmask "255.0.255.0" of eth0 is not a valid value',
      'not carried: /etc/network/interfaces:3: address "300.1.1.1" of eth0 is not a valid value',
      'not carried: /etc/network/interfaces:7: metric "fast" of eth0 is not a valid value',
      'not carried: /etc/network/interfaces:2: name server "not-an-ip" of eth0 is not an address',
      'not carried: /etc/network/interfaces:14: bond-mode "fastest" of bond0 is not a valid value',
      'not carried: /etc/network/interfaces:15: bond-miimon "-1" of bond0 is not a valid value',
    ]);
  });

  test("hooks: up ip addr add is an address, other commands are named by interface; down clean-up is not", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto eth0
iface eth0 inet manual
    up ip link set $IFACE up
    up ip addr add 192.0.2.10/24 dev $IFACE label $IFACE:0
    up ip route add default via 192.0.2.1 dev eth0 metric 50 || true
    pre-up /usr/local/sbin/wait-for-switch
    post-up ip route add 203.0.113.0/24 via 192.0.2.254 dev eth9
    down ip addr del 192.0.2.10/24 dev $IFACE
    post-down /usr/local/sbin/notify-down
`,
    });
    expect(iface(findings, "eth0")?.ipv4).toEqual({ dhcp: false, addresses: [{ address: "192.0.2.10", prefix: 24 }], gateway: { via: "192.0.2.1", metric: 50 }, routes: [] });
    expect(findings.warnings).toEqual([
      { id: "custom-hook", message: "not carried: /etc/network/interfaces:3: eth0 runs `up ip link set $IFACE up`", interface: "eth0" },
      { id: "custom-hook", message: "not carried: /etc/network/interfaces:6: eth0 runs `pre-up /usr/local/sbin/wait-for-switch`", interface: "eth0" },
      { id: "ifupdown-option", message: "not carried: /etc/network/interfaces:7: command for another interface (eth9) `post-up ip route add 203.0.113.0/24 via 192.0.2.254 dev eth9` of eth0", interface: "eth0" },
      { id: "custom-hook", message: "not carried: /etc/network/interfaces:9: eth0 runs `post-down /usr/local/sbin/notify-down`", interface: "eth0" },
    ]);
  });

  test("IP aliases and a second inet static stanza are more addresses of the same NIC, never NICs", () => {
    const findings = capture({
      "/etc/network/interfaces": `auto eth0
iface eth0 inet static
    address 192.0.2.10/24
    gateway 192.0.2.1

auto eth0:1
iface eth0:1 inet static
    address 192.0.2.11
    netmask 255.255.255.0

iface eth0 inet static
    address 198.51.100.10/24
`,
    });
    expect(findings.interfaces).toEqual([
      {
        name: "eth0",
        kind: "ethernet",
        activation: "boot",
        source: "/etc/network/interfaces",
        ipv4: {
          dhcp: false,
          addresses: [
            { address: "192.0.2.10", prefix: 24 },
            { address: "192.0.2.11", prefix: 24 },
            { address: "198.51.100.10", prefix: 24 },
          ],
          gateway: { via: "192.0.2.1" },
          routes: [],
        },
        ipv6: KERNEL_IPV6,
      },
    ]);
  });

  test("hwaddress on a NIC: the binding stays the NIC's own MAC, the override is named", () => {
    const findings = capture({ "/etc/network/interfaces": "auto eth0\niface eth0 inet dhcp\n    hwaddress ether 02:00:00:00:00:01\n" });
    expect(iface(findings, "eth0")?.mac).toBeUndefined();
    expect(ids(findings)).toEqual(["hwaddress-not-carried"]);
  });

  test("a port's own addresses are named and left; the files it comes from hold no unknown option in silence", () => {
    const findings = capture({
      "/etc/network/interfaces": "auto br0\niface br0 inet dhcp\n    bridge_ports eth0\n    bridge_hello 2\n\niface eth0 inet static\n    address 192.0.2.5/24\n    wpa-ssid office\n",
    });
    expect(iface(findings, "eth0")).toEqual({ name: "eth0", kind: "ethernet", activation: "boot", source: "/etc/network/interfaces", controller: "br0" });
    expect(findings.warnings.map((w) => w.id)).toEqual(["ifupdown-option", "ifupdown-option", "port-addresses"]);
    expect(warningOf(findings, "ifupdown-option")?.message).toBe("not carried: /etc/network/interfaces:4: bond or bridge option `bridge-hello 2` of br0");
  });
});

describe("capture from ifupdown: IPv6 as inet6.defn sets the kernel's sysctls", () => {
  const inet6 = (body: string) => capture({ "/etc/network/interfaces": `auto eth0\niface eth0 inet dhcp\n\n${body}` });

  test("no inet6 stanza: the kernel's defaults are captured (router advertisements, SLAAC), for an interface up at boot or by hand", () => {
    expect(inet6("").interfaces[0]?.ipv6).toEqual(KERNEL_IPV6);
    const byHand = capture({ "/etc/network/interfaces": "iface eth0 inet static\n    address 192.0.2.5/24\n" });
    expect(byHand.interfaces[0]?.activation).toBe("manual");
    expect(byHand.interfaces[0]?.ipv6).toEqual(KERNEL_IPV6);
  });

  test("inet6 manual writes no sysctl: the kernel's defaults, or what an earlier stanza set; its up ip -6 lines add to them", () => {
    expect(inet6("iface eth0 inet6 manual\n").interfaces[0]?.ipv6).toEqual(KERNEL_IPV6);
    const after = inet6("iface eth0 inet6 static\n    address 2001:db8::5/64\n\niface eth0 inet6 manual\n");
    expect(after.interfaces[0]?.ipv6).toEqual({ autoconf: false, dhcp: false, addresses: [{ address: "2001:db8::5", prefix: 64 }], routes: [] });
    const hooks = inet6("iface eth0 inet6 manual\n    up ip -6 addr add 2001:db8::7/64 dev eth0\n    up ip -6 route add 2001:db8:99::/48 via 2001:db8::1\n");
    expect(hooks.interfaces[0]?.ipv6).toEqual({ ...KERNEL_IPV6, addresses: [{ address: "2001:db8::7", prefix: 64 }], routes: [{ to: "2001:db8:99::/48", via: "2001:db8::1" }] });
    expect(hooks.warnings).toEqual([]);
  });

  test("inet6 auto: SLAAC; accept_ra 0 turns it off; dhcp 1 (stateless DHCPv6) is named", () => {
    expect(inet6("iface eth0 inet6 auto\n").interfaces[0]?.ipv6?.autoconf).toBe(true);
    // link-local only: the nearest ifupdown comes to "no IPv6", captured as such
    expect(inet6("iface eth0 inet6 auto\n    accept_ra 0\n").interfaces[0]?.ipv6).toBeUndefined();
    const stateless = inet6("iface eth0 inet6 auto\n    dhcp 1\n");
    expect(stateless.interfaces[0]?.ipv6).toEqual({ autoconf: true, dhcp: false, addresses: [], routes: [] });
    expect(ids(stateless)).toEqual(["dhcpv6-stateless"]);
  });

  test("inet6 dhcp: stateful DHCPv6, RA accepted and autoconf left at the kernel's 1 unless set", () => {
    expect(inet6("iface eth0 inet6 dhcp\n").interfaces[0]?.ipv6).toEqual({ autoconf: true, dhcp: true, addresses: [], routes: [] });
    expect(inet6("iface eth0 inet6 dhcp\n    autoconf 0\n    accept_ra 0\n").interfaces[0]?.ipv6?.autoconf).toBe(false);
  });

  test("inet6 static: accept_ra 1/2 with autoconf 1 is SLAAC besides the static address; privext is named", () => {
    const both = inet6("iface eth0 inet6 static\n    address 2001:db8::5/64\n    accept_ra 2\n    autoconf 1\n    privext 2\n");
    expect(both.interfaces[0]?.ipv6).toEqual({ autoconf: true, dhcp: false, addresses: [{ address: "2001:db8::5", prefix: 64 }], routes: [] });
    expect(ids(both)).toEqual(["ifupdown-option"]);
    expect(both.warnings[0]?.message).toContain("IPv6 privacy extensions");
  });

  test("inet6 static with a gateway and its metric; a bare address is a /128 as ip takes it", () => {
    const findings = inet6("iface eth0 inet6 static\n    address 2001:db8::5\n    gateway 2001:db8::1\n    metric 200\n");
    expect(findings.interfaces[0]?.ipv6).toEqual({ autoconf: false, dhcp: false, addresses: [{ address: "2001:db8::5", prefix: 128 }], gateway: { via: "2001:db8::1", metric: 200 }, routes: [] });
    expect(findings.warnings).toEqual([]);
  });
});

function config(interfaces: CapturedInterface[], dns = { servers: [] as string[], search: [] as string[] }): CapturedConfig {
  return { format: 2, interfaces, dns, accounts: [], mounts: [], paths: [], warnings: [] };
}

const nic = (name: string, mac: string, more: Partial<CapturedInterface> = {}): CapturedInterface => ({ name, kind: "ethernet", mac, activation: "boot", ...more });

/** Render into a fresh root with a sysfs of the NICs (the old names the .link files give back), then capture it again. */
function roundTrip(model: CapturedConfig): { again: CapturedInterface[]; findings: NetworkFindings; files: Record<string, string> } {
  const root = rootWith({ "/etc/network/interfaces": withInterfacesDirSourced("auto lo\niface lo inet loopback\n"), ...RESOLVCONF_HOOK });
  const files: Record<string, string> = {};
  for (const file of renderIfupdown(model)) {
    writeRenderedFile(root, file);
    files[file.path] = file.content;
  }
  for (const item of model.interfaces.filter((i) => i.kind === "ethernet")) {
    mkdirSync(join(root, "sys/class/net", item.name), { recursive: true });
    writeFileSync(join(root, "sys/class/net", item.name, "address"), `${item.mac}\n`);
  }
  const findings = captureIfupdown(root);
  const again = findings.interfaces.map(({ source, ...found }) => {
    expect(source).toBe(IFUPDOWN_CARRIED_FILE);
    const mac = found.mac ?? (found.kind === "ethernet" ? sysfsMac(root, found.name!) : undefined);
    return { ...found, ...(mac ? { mac } : {}) } as CapturedInterface;
  });
  return { again, findings, files };
}

function sysfsMac(root: string, name: string): string {
  return readFileSync(join(root, "sys/class/net", name, "address"), "utf8").trim();
}

const sortByName = (list: CapturedInterface[]) => [...list].sort((a, b) => a.name.localeCompare(b.name));

describe("render for an ifupdown target, and capture it back", () => {
  test("static with routes of every option: a .link file per NIC, stanzas in interfaces.d/va-carried", () => {
    const model = config(
      [
        nic("eth0", "52:54:00:cc:00:01", {
          mtu: 9000,
          ipv4: {
            dhcp: false,
            addresses: [
              { address: "192.168.122.50", prefix: 24 },
              { address: "192.168.123.50", prefix: 25 },
            ],
            gateway: { via: "192.168.122.1", metric: 100 },
            routes: [
              { to: "10.0.0.0/8", via: "192.168.122.254", metric: 5 },
              { to: "172.16.0.0/12", via: "192.168.122.253", table: 100, onlink: true },
              { to: "192.0.2.0/24", type: "blackhole" },
            ],
          },
          ipv6: KERNEL_IPV6,
        }),
      ],
      { servers: ["192.168.122.1", "2001:db8::53"], search: ["example.lan"] },
    );
    const { again, findings, files } = roundTrip(model);
    expect(files["/etc/systemd/network/10-va-eth0.link"]).toBe("[Match]\nMACAddress=52:54:00:cc:00:01\n\n[Link]\nName=eth0\n");
    expect(files[IFUPDOWN_CARRIED_FILE]).toBe(`# carried over from the old system by va-agent

auto eth0
iface eth0 inet static
    address 192.168.122.50/24
    gateway 192.168.122.1
    metric 100
    mtu 9000
    dns-nameservers 192.168.122.1 2001:db8::53
    dns-search example.lan
    up ip route add 10.0.0.0/8 via 192.168.122.254 dev eth0 metric 5
    up ip route add 172.16.0.0/12 via 192.168.122.253 dev eth0 table 100 onlink
    up ip route add blackhole 192.0.2.0/24

iface eth0 inet static
    address 192.168.123.50/25
`);
    expect(again).toEqual(model.interfaces);
    expect(findings.dns).toEqual(model.dns);
    expect(findings.warnings).toEqual([]);
  });

  test("dual stack: DHCP plus a static address, IPv6 static with SLAAC and a route, IPv6 via DHCPv6 only", () => {
    const model = config([
      nic("eth0", "52:54:00:cc:00:01", {
        ipv4: { dhcp: true, addresses: [{ address: "10.9.0.5", prefix: 24 }], routes: [] },
        ipv6: {
          autoconf: true,
          dhcp: false,
          addresses: [
            { address: "2001:db8:1::5", prefix: 64 },
            { address: "2001:db8:2::5", prefix: 64 },
          ],
          gateway: { via: "fe80::1", metric: 1024 },
          routes: [{ to: "2001:db8:99::/48", via: "2001:db8:1::fe" }],
        },
      }),
      nic("eth1", "52:54:00:cc:00:02", { ipv6: { autoconf: false, dhcp: true, addresses: [], routes: [] } }),
      nic("eth2", "52:54:00:cc:00:03", { ipv6: { autoconf: false, dhcp: false, addresses: [], gateway: { via: "2001:db8:3::1" }, routes: [] } }),
    ]);
    const { again, findings, files } = roundTrip(model);
    expect(files[IFUPDOWN_CARRIED_FILE]).toContain(`iface eth0 inet6 static
    address 2001:db8:1::5/64
    gateway fe80::1
    metric 1024
    accept_ra 1
    autoconf 1
    up ip -6 route add 2001:db8:99::/48 via 2001:db8:1::fe dev eth0

iface eth0 inet6 static
    address 2001:db8:2::5/64
    accept_ra 1
    autoconf 1
`);
    expect(files[IFUPDOWN_CARRIED_FILE]).toContain("iface eth2 inet6 auto\n    accept_ra 0\n    up ip -6 route add default via 2001:db8:3::1 dev eth2\n");
    expect(again).toEqual(model.interfaces);
    expect(findings.warnings).toEqual([]);
  });

  test("LACP bond with a VLAN on it and IPv6, ports first: ifenslave and nothing else needed", () => {
    const model = config([
      nic("eno1", "52:54:00:dd:00:01", { controller: "bond0" }),
      nic("eno2", "52:54:00:dd:00:02", { controller: "bond0", mtu: 9000 }),
      {
        name: "bond0",
        kind: "bond",
        activation: "boot",
        mtu: 9000,
        mac: "52:54:00:dd:00:01",
        bond: { mode: "802.3ad", miimon: 100, updelay: 200, downdelay: 200, lacpRate: "fast", xmitHashPolicy: "layer3+4", primary: "eno1" },
        ipv6: KERNEL_IPV6,
      },
      {
        name: "bond0.100",
        kind: "vlan",
        activation: "boot",
        vlan: { id: 100, parent: "bond0" },
        ipv4: { dhcp: false, addresses: [{ address: "10.100.0.5", prefix: 24 }], gateway: { via: "10.100.0.1" }, routes: [] },
        ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:100::5", prefix: 64 }], gateway: { via: "2001:db8:100::1" }, routes: [] },
      },
    ]);
    const { again, findings, files } = roundTrip(model);
    expect(files[IFUPDOWN_CARRIED_FILE]).toContain(`auto bond0
iface bond0 inet manual
    mtu 9000
    hwaddress ether 52:54:00:dd:00:01
    bond-slaves eno1 eno2
    bond-mode 802.3ad
    bond-miimon 100
    bond-updelay 200
    bond-downdelay 200
    bond-lacp-rate fast
    bond-xmit-hash-policy layer3+4
    bond-primary eno1
`);
    expect(Object.keys(files).filter((path) => path.endsWith(".link"))).toEqual(["/etc/systemd/network/10-va-eno1.link", "/etc/systemd/network/10-va-eno2.link"]);
    expect(again).toEqual(model.interfaces);
    expect(findings.warnings).toEqual([]);
    expect(ifupdownPackagesNeeded(model)).toEqual(["ifenslave"]);
    expect(ifupdownRefusals(model)).toEqual([]);
  });

  test("bridge (the bond is its port, bridge before its VLAN named the vlan package's way), disabled NIC", () => {
    const model = config([
      {
        name: "br0",
        kind: "bridge",
        activation: "boot",
        bridge: { stp: true, forwardDelay: 4 },
        ipv4: { dhcp: true, addresses: [], routes: [] },
        ipv6: { autoconf: true, dhcp: false, addresses: [], routes: [] },
      },
      { name: "bond0", kind: "bond", activation: "boot", controller: "br0", bond: { mode: "active-backup", miimon: 100 } },
      nic("eth0", "52:54:00:ee:00:01", { controller: "bond0" }),
      nic("eth1", "52:54:00:ee:00:02", { controller: "bond0" }),
      { name: "vlan0042", kind: "vlan", activation: "boot", vlan: { id: 42, parent: "br0" }, ipv4: { dhcp: false, addresses: [{ address: "10.42.0.2", prefix: 24 }], routes: [] }, ipv6: KERNEL_IPV6 },
      nic("eth9", "52:54:00:ee:00:09", { activation: "manual", ipv4: { dhcp: false, addresses: [{ address: "192.0.2.9", prefix: 24 }], routes: [] }, ipv6: KERNEL_IPV6 }),
      { name: "br1", kind: "bridge", activation: "boot", bridge: { stp: false }, ipv4: { dhcp: false, addresses: [{ address: "10.10.10.1", prefix: 24 }], routes: [] }, ipv6: KERNEL_IPV6 },
    ]);
    const { again, findings, files } = roundTrip(model);
    const text = files[IFUPDOWN_CARRIED_FILE]!;
    expect(text.indexOf("iface eth0")).toBeLessThan(text.indexOf("iface bond0"));
    expect(text.indexOf("iface bond0")).toBeLessThan(text.indexOf("iface br0"));
    expect(text.indexOf("iface br0")).toBeLessThan(text.indexOf("iface vlan0042"));
    expect(text).toContain("iface eth9 inet static\n    address 192.0.2.9/24\n");
    expect(text).not.toContain("auto eth9");
    expect(text).toContain("iface br1 inet static\n    address 10.10.10.1/24\n    bridge_ports none\n    bridge_stp off\n");
    expect(sortByName(again)).toEqual(sortByName(model.interfaces));
    expect(findings.warnings).toEqual([]);
    expect(ifupdownPackagesNeeded(model)).toEqual(["bridge-utils", "ifenslave", "vlan"]);
  });

  test("several NICs with gateways and metrics, one with no IP at all", () => {
    const model = config(
      [
        nic("ens3", "52:54:00:aa:00:01", { ipv4: { dhcp: false, addresses: [{ address: "192.0.2.10", prefix: 24 }], gateway: { via: "192.0.2.1", metric: 100 }, routes: [] }, ipv6: KERNEL_IPV6 }),
        nic("ens4", "52:54:00:aa:00:02", { ipv4: { dhcp: false, addresses: [{ address: "198.51.100.10", prefix: 24 }], gateway: { via: "198.51.100.1", metric: 200 }, routes: [] }, ipv6: KERNEL_IPV6 }),
        nic("ens5", "52:54:00:aa:00:03", { ipv4: { dhcp: false, addresses: [], gateway: { via: "203.0.113.1", metric: 300 }, routes: [{ to: "203.0.113.0/24", scope: "link" }] }, ipv6: KERNEL_IPV6 }),
        nic("ens6", "52:54:00:aa:00:04", { ipv6: KERNEL_IPV6 }),
      ],
      { servers: ["192.0.2.53"], search: [] },
    );
    const { again, findings, files } = roundTrip(model);
    expect(files[IFUPDOWN_CARRIED_FILE]).toContain("auto ens6\niface ens6 inet manual\n");
    expect(files[IFUPDOWN_CARRIED_FILE]!.match(/dns-nameservers/g)).toHaveLength(1);
    expect(files[IFUPDOWN_CARRIED_FILE]).toContain("iface ens3 inet static\n    address 192.0.2.10/24\n    gateway 192.0.2.1\n    metric 100\n    dns-nameservers 192.0.2.53\n");
    expect(again).toEqual(model.interfaces);
    expect(findings.dns).toEqual(model.dns);
    expect(findings.warnings).toEqual([]);
  });

  test("no IPv6 at all (IPV6INIT=no elsewhere): link-local only with router advertisements refused, never the kernel's SLAAC; captured back as no IPv6", () => {
    const model = config([
      nic("eth0", "52:54:00:cc:00:01", { ipv4: { dhcp: true, addresses: [], routes: [] } }),
      { name: "bond0", kind: "bond", activation: "boot", bond: { mode: "active-backup" } },
      nic("eth1", "52:54:00:cc:00:02", { controller: "bond0" }),
    ]);
    const { again, findings, files } = roundTrip(model);
    expect(files[IFUPDOWN_CARRIED_FILE]).toContain("iface eth0 inet dhcp\n\niface eth0 inet6 auto\n    accept_ra 0\n");
    expect(files[IFUPDOWN_CARRIED_FILE]).toContain("iface bond0 inet6 auto\n    accept_ra 0\n");
    expect(files[IFUPDOWN_CARRIED_FILE]).not.toContain("iface eth1 inet6");
    // link-local only re-captures as "no IPv6": the same interfaces come back
    expect(sortByName(again)).toEqual(sortByName(model.interfaces));
    expect(findings.warnings).toEqual([]);
  });

  test("what ifupdown cannot say is listed for the step: DHCP without its default route, a VLAN name it cannot create", () => {
    const model = config([
      nic("eth0", "52:54:00:aa:00:01", { ipv4: { dhcp: true, neverDefault: true, addresses: [], routes: [] } }),
      { name: "mgmt", kind: "vlan", activation: "boot", vlan: { id: 7, parent: "eth0" } },
    ]);
    expect(ifupdownRefusals(model)).toEqual([
      "eth0: DHCP without installing its default route (neverDefault) cannot be said in ifupdown",
      "mgmt: a VLAN is created by ifupdown only when named eth0.7, or vlan7 / vlan0007 with the vlan package",
    ]);
    expect(ifupdownPackagesNeeded(model)).toEqual(["vlan"]);
  });

  test("no interfaces: nothing but nothing; the interfaces file gets a source line only when it lacks one", () => {
    expect(renderIfupdown(config([]))).toEqual([]);
    const debian = "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n";
    expect(withInterfacesDirSourced(debian)).toBe(debian);
    expect(withInterfacesDirSourced("auto lo\niface lo inet loopback")).toBe("auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/va-carried\n");
  });
});
