import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { captureNetworkd } from "../../agent/carry-over/capture-networkd.ts";
import type { CapturedConfig, CapturedInterface } from "../../agent/carry-over/captured-config.ts";
import { parseCapturedConfig } from "../../agent/carry-over/captured-config.ts";
import { matchDevice } from "../../agent/carry-over/networkd-match.ts";
import { parseIni } from "../../agent/carry-over/ini-file.ts";
import type { FoundInterface, NetworkFindings } from "../../agent/carry-over/network-findings.ts";
import { renderNetworkd } from "../../agent/carry-over/render-networkd.ts";

const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** A fixture tree: path → content; `-> target` makes a symlink. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "va-networkd-"));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    if (content.startsWith("-> ")) symlinkSync(content.slice(3), join(root, path));
    else writeFileSync(join(root, path), content);
  }
  return root;
}

/** ROOT/sys/class/net/NAME/address for each NIC, as the old system shows them. */
function nics(macs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(macs).map(([name, mac]) => [`sys/class/net/${name}/address`, `${mac}\n`]));
}

const ND = "etc/systemd/network";
const ids = (findings: NetworkFindings) => findings.warnings.map((w) => w.id);
const byName = (found: FoundInterface[]) => [...found].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
const named = (findings: NetworkFindings, name: string) => findings.interfaces.find((i) => i.name === name);

describe("networkd search paths, masks, drop-ins", () => {
  const vendorStatic = "[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.9/24\n";

  test("/etc replaces the same file name in /run and /usr/lib; the other directories still count", () => {
    const root = tree({
      ...nics({ eth0: "52:54:00:00:00:01", eth1: "52:54:00:00:00:02" }),
      "usr/lib/systemd/network/50-eth0.network": vendorStatic,
      "run/systemd/network/50-eth0.network": "[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.8/24\n",
      [`${ND}/50-eth0.network`]: "[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.7/24\n",
      "run/systemd/network/60-eth1.network": "[Match]\nName=eth1\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n",
    });
    const found = captureNetworkd(root);
    expect(named(found, "eth0")?.ipv4?.addresses).toEqual([{ address: "192.0.2.7", prefix: 24 }]);
    expect(named(found, "eth0")?.source).toBe("/etc/systemd/network/50-eth0.network");
    expect(named(found, "eth1")?.ipv4).toEqual({ dhcp: true, addresses: [], routes: [] });
    expect(found.warnings).toEqual([]);
  });

  test("a symlink to /dev/null or an empty file in /etc masks the vendor file of that name", () => {
    for (const mask of ["-> /dev/null", ""]) {
      const root = tree({ ...nics({ eth0: "52:54:00:00:00:01" }), "usr/lib/systemd/network/50-eth0.network": vendorStatic, [`${ND}/50-eth0.network`]: mask });
      expect(captureNetworkd(root).interfaces).toEqual([]);
    }
  });

  test("drop-ins NAME.network.d/*.conf merge after the file, in name order; /etc's drop-in replaces /usr/lib's of that name", () => {
    const root = tree({
      ...nics({ eth0: "52:54:00:00:00:01" }),
      [`${ND}/50-eth0.network`]: "[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.7/24\nDNS=192.0.2.53\n",
      "usr/lib/systemd/network/50-eth0.network.d/10-mtu.conf": "[Link]\nMTUBytes=1400\n",
      [`${ND}/50-eth0.network.d/10-mtu.conf`]: "[Link]\nMTUBytes=9000\n",
      [`${ND}/50-eth0.network.d/20-dns.conf`]: "[Network]\nDNS=\nDNS=192.0.2.54\n",
      [`${ND}/50-eth0.network.d/30-masked.conf`]: "-> /dev/null",
      [`${ND}/50-eth0.network.d/README`]: "[Network]\nAddress=10.9.9.9/8\n",
    });
    const found = captureNetworkd(root);
    expect(named(found, "eth0")?.mtu).toBe(9000);
    expect(named(found, "eth0")?.ipv4?.addresses).toEqual([{ address: "192.0.2.7", prefix: 24 }]);
    expect(found.dns.servers).toEqual(["192.0.2.54"]);
  });

  test("the first matching .network in lexical order wins, across directories; a later match is named and ignored", () => {
    const root = tree({
      ...nics({ enp1s0: "52:54:00:00:00:01" }),
      // netplan's output sorts before the admin's 20-wired.network
      "run/systemd/network/10-netplan-enp1s0.network": "[Match]\nPermanentMACAddress=52:54:00:00:00:01\nName=enp1s0\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=ipv6\n\n[DHCP]\nRouteMetric=100\nUseMTU=true\n",
      [`${ND}/20-wired.network`]: "[Match]\nName=en*\n\n[Network]\nAddress=10.1.10.9/24\nGateway=10.1.10.1\n",
    });
    const found = captureNetworkd(root);
    expect(found.interfaces).toHaveLength(1);
    expect(found.interfaces[0]).toMatchObject({ name: "enp1s0", mac: "52:54:00:00:00:01", ipv4: { dhcp: true, addresses: [] } });
    expect(found.warnings).toContainEqual({
      id: "duplicate-network",
      message: "not carried: /etc/systemd/network/20-wired.network also matches enp1s0; networkd uses the first match, /run/systemd/network/10-netplan-enp1s0.network, and ignores it",
      interface: "enp1s0",
    });
    expect(ids(found)).toContain("dhcp-route-metric-not-carried");
  });

  test("systemd's vendor defaults (container, wifi, 6rd) match no NIC and say nothing; an admin's unmatched file is named", () => {
    const root = tree({
      ...nics({ enp1s0: "52:54:00:00:00:01" }),
      "usr/lib/systemd/network/80-container-host0.network": "[Match]\nVirtualization=container\nName=host0\n\n[Network]\nDHCP=yes\nLinkLocalAddressing=yes\n",
      "usr/lib/systemd/network/80-container-vz.network": "[Match]\nName=vz-*\nDriver=bridge\n\n[Network]\nDHCPServer=yes\n",
      "usr/lib/systemd/network/80-wifi-adhoc.network": "[Match]\nType=wlan\nWLANInterfaceType=ad-hoc\n\n[Network]\nLinkLocalAddressing=yes\n",
      "usr/lib/systemd/network/80-6rd-tunnel.network": "[Match]\nKind=sit\n\n[Network]\nIPv6AcceptRA=no\n",
      "usr/lib/systemd/network/89-ethernet.network.example": "[Match]\nName=*\n",
      [`${ND}/30-old-nic.network`]: "[Match]\nName=eth7\n\n[Network]\nDHCP=yes\n",
    });
    const found = captureNetworkd(root);
    expect(found.interfaces).toEqual([]);
    expect(found.warnings).toEqual([{ id: "network-file-unmatched", message: "not carried: /etc/systemd/network/30-old-nic.network matches no interface of this system" }]);
  });
});

describe("networkd .netdev: bonds, VLANs, bridges", () => {
  // systemd.network(5), the bond example: ports matched by MACAddress=, the bond with DHCPv6
  const manPageBond = {
    ...nics({ enp1s0: "52:54:00:e9:64:41", enp2s0: "52:54:00:e9:64:41" }),
    // an enslaved port's address is the bond's; perm_hwaddr keeps its own
    "sys/class/net/enp2s0/bonding_slave/perm_hwaddr": "52:54:00:e9:64:42\n",
    [`${ND}/25-bond.netdev`]: "[NetDev]\nName=bond1\nKind=bond\n\n[Bond]\nMode=802.3ad\nTransmitHashPolicy=layer3+4\nMIIMonitorSec=1s\nLACPTransmitRate=fast\n",
    [`${ND}/30-bond1.network`]: "[Match]\nName=bond1\n\n[Network]\nDHCP=ipv6\n",
    [`${ND}/30-bond1-dev1.network`]: "[Match]\nMACAddress=52:54:00:e9:64:41\n\n[Network]\nBond=bond1\n",
    [`${ND}/30-bond1-dev2.network`]: "[Match]\nMACAddress=52:54:00:e9:64:42\n\n[Network]\nBond=bond1\n",
  };

  test("the man page's 802.3ad bond: each port by its own MAC, the bond by name", () => {
    const found = captureNetworkd(tree(manPageBond));
    expect(byName(found.interfaces).map(({ source: _source, ...rest }) => rest)).toEqual([
      {
        name: "bond1",
        kind: "bond",
        activation: "boot",
        bond: { mode: "802.3ad", miimon: 1000, lacpRate: "fast", xmitHashPolicy: "layer3+4" },
        // with router advertisements accepted, DHCPv6 starts when one asks for it (WithoutRA=no): autoconf says that
        ipv6: { autoconf: true, dhcp: false, addresses: [], routes: [] },
      },
      { name: "enp1s0", mac: "52:54:00:e9:64:41", kind: "ethernet", activation: "boot", controller: "bond1" },
      { name: "enp2s0", mac: "52:54:00:e9:64:42", kind: "ethernet", activation: "boot", controller: "bond1" },
    ]);
    expect(found.warnings).toEqual([]);
  });

  // netplan's networkd output under /run/systemd/network: bond + VLAN, PrimarySlave in the port file
  const netplanBondVlan = (bondFirst: boolean) => ({
    ...nics({ eno1: "3c:ec:ef:10:00:01", eno2: "3c:ec:ef:10:00:02" }),
    [`run/systemd/network/${bondFirst ? "10" : "30"}-netplan-bond0.netdev`]: "[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=active-backup\nMIIMonitorSec=100ms\nUpDelaySec=200ms\nDownDelaySec=200ms\n",
    [`run/systemd/network/${bondFirst ? "10" : "30"}-netplan-bond0.network`]: "[Match]\nName=bond0\n\n[Network]\nLinkLocalAddressing=no\nConfigureWithoutCarrier=yes\nVLAN=bond0.100\n",
    [`run/systemd/network/${bondFirst ? "10" : "30"}-netplan-bond0.100.netdev`]: "[NetDev]\nName=bond0.100\nKind=vlan\n\n[VLAN]\nId=100\n",
    [`run/systemd/network/${bondFirst ? "10" : "30"}-netplan-bond0.100.network`]:
      "[Match]\nName=bond0.100\n\n[Network]\nLinkLocalAddressing=ipv6\nAddress=198.51.100.10/24\nAddress=2001:db8:100::10/64\nIPv6AcceptRA=no\nDNS=198.51.100.53\nDomains=example.net\nConfigureWithoutCarrier=yes\n\n[Route]\nDestination=0.0.0.0/0\nGateway=198.51.100.1\n\n[Route]\nDestination=::/0\nGateway=2001:db8:100::1\n",
    [`run/systemd/network/20-netplan-eno1.network`]: "[Match]\nPermanentMACAddress=3c:ec:ef:10:00:01\nName=eno1\n\n[Network]\nLinkLocalAddressing=no\nBond=bond0\nPrimarySlave=true\n",
    [`run/systemd/network/20-netplan-eno2.network`]: "[Match]\nPermanentMACAddress=3c:ec:ef:10:00:02\nName=eno2\n\n[Network]\nLinkLocalAddressing=no\nBond=bond0\n",
  });

  test("netplan's bond + VLAN: the VLAN's parent is the device whose .network lists VLAN=; the order of files does not matter", () => {
    const [first, second] = [captureNetworkd(tree(netplanBondVlan(true))), captureNetworkd(tree(netplanBondVlan(false)))];
    const strip = (found: NetworkFindings) => byName(found.interfaces).map(({ source: _source, ...rest }) => rest);
    expect(strip(first)).toEqual(strip(second));
    expect(strip(first)).toEqual([
      { name: "bond0", kind: "bond", activation: "boot", bond: { mode: "active-backup", miimon: 100, updelay: 200, downdelay: 200, primary: "eno1" } },
      {
        name: "bond0.100",
        kind: "vlan",
        activation: "boot",
        vlan: { id: 100, parent: "bond0" },
        ipv4: { dhcp: false, addresses: [{ address: "198.51.100.10", prefix: 24 }], gateway: { via: "198.51.100.1" }, routes: [] },
        ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:100::10", prefix: 64 }], gateway: { via: "2001:db8:100::1" }, routes: [] },
      },
      { name: "eno1", mac: "3c:ec:ef:10:00:01", kind: "ethernet", activation: "boot", controller: "bond0" },
      { name: "eno2", mac: "3c:ec:ef:10:00:02", kind: "ethernet", activation: "boot", controller: "bond0" },
    ]);
    expect(first.dns).toEqual({ servers: ["198.51.100.53"], search: ["example.net"] });
    expect(first.warnings).toEqual([]);
  });

  test("a .network naming a netdev configures that device, never a NIC, even when a port's MAC file sorts first", () => {
    const root = tree({
      ...manPageBond,
      [`${ND}/10-port-first.network`]: "[Match]\nMACAddress=52:54:00:e9:64:41\n\n[Network]\nBond=bond1\n",
    });
    const found = captureNetworkd(root);
    expect(named(found, "bond1")?.source).toBe("/etc/systemd/network/30-bond1.network");
    expect(ids(found)).toEqual(["duplicate-network"]);
  });

  test("systemd's 89-ethernet.network (Kind=!* Type=ether) takes the NICs and leaves the bridge to its own file", () => {
    // Arch wiki: a bridge with DHCP; the NICs by systemd's example file
    const root = tree({
      ...nics({ enp1s0: "52:54:00:00:00:01" }),
      [`${ND}/25-br0.netdev`]: "[NetDev]\nName=br0\nKind=bridge\n\n[Bridge]\nSTP=yes\nForwardDelaySec=4\n",
      [`${ND}/25-br0-en.network`]: "[Match]\nName=en*\n\n[Network]\nBridge=br0\n",
      [`${ND}/89-ethernet.network`]: "[Match]\nKind=!*\nType=ether\n\n[Network]\nDHCP=yes\n",
      [`${ND}/90-br0.network`]: "[Match]\nName=br0\n\n[Network]\nDHCP=ipv4\n",
    });
    const found = captureNetworkd(root);
    expect(byName(found.interfaces).map(({ source: _source, ...rest }) => rest)).toEqual([
      // a bridge ignores router advertisements unless told otherwise (systemd.network(5))
      { name: "br0", kind: "bridge", activation: "boot", bridge: { stp: true, forwardDelay: 4 }, ipv4: { dhcp: true, addresses: [], routes: [] } },
      { name: "enp1s0", mac: "52:54:00:00:00:01", kind: "ethernet", activation: "boot", controller: "br0" },
    ]);
    expect(ids(found)).toEqual(["duplicate-network"]);
  });

  test("wireguard, vxlan, dummy and macvlan are named with their kind, with their .network; a VLAN nobody lists is never created", () => {
    const root = tree({
      ...nics({ enp1s0: "52:54:00:00:00:01" }),
      [`${ND}/90-wg0.netdev`]: "[NetDev]\nName=wg0\nKind=wireguard\n\n[WireGuard]\nPrivateKeyFile=/etc/systemd/network/wg0.key\nListenPort=51820\n\n[WireGuardPeer]\nPublicKey=xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs=10.0.0.0/24\n",
      [`${ND}/90-wg0.network`]: "[Match]\nName=wg0\n\n[Network]\nAddress=10.0.0.1/24\n",
      [`${ND}/91-vx.netdev`]: "[NetDev]\nName=vxlan1\nKind=vxlan\n\n[VXLAN]\nVNI=1\n",
      [`${ND}/92-dummy.netdev`]: "[NetDev]\nName=dummy0\nKind=dummy\n",
      [`${ND}/93-orphan.netdev`]: "[NetDev]\nName=vlan7\nKind=vlan\n\n[VLAN]\nId=7\n",
      [`${ND}/94-broken.netdev`]: "[NetDev]\nKind=bond\n",
      [`${ND}/20-lan.network`]: "[Match]\nName=enp1s0\n\n[Network]\nDHCP=yes\nMACVLAN=mv0\n",
    });
    const found = captureNetworkd(root);
    expect(found.interfaces.map((i) => i.name)).toEqual(["enp1s0"]);
    const messages = found.warnings.map((w) => `${w.id}: ${w.message}`);
    expect(messages).toContain("netdev-not-carried: not carried: wg0 from /etc/systemd/network/90-wg0.netdev is a wireguard (Kind=wireguard); it and its .network are not carried, configure them on the new system by hand");
    expect(messages).toContain("netdev-not-carried: not carried: vxlan1 from /etc/systemd/network/91-vx.netdev is a vxlan (Kind=vxlan); it and its .network are not carried, configure them on the new system by hand");
    expect(messages).toContain("netdev-not-carried: not carried: dummy0 from /etc/systemd/network/92-dummy.netdev is a dummy (Kind=dummy); it and its .network are not carried, configure them on the new system by hand");
    expect(messages).toContain("vlan-without-parent: not carried: vlan7 from /etc/systemd/network/93-orphan.netdev: no .network lists it in VLAN=, so networkd never creates it");
    expect(messages).toContain("netdev-invalid: not carried: /etc/systemd/network/94-broken.netdev has no [NetDev] Name= or Kind=; networkd ignores it");
    expect(messages).toContain("networkd-setting-not-carried: not carried: enp1s0 in /etc/systemd/network/20-lan.network: [Network] MACVLAN=mv0 is not carried");
  });

  test("systemd.netdev(5)'s VLAN example is created only under [Match] Virtualization=no: refused by name", () => {
    const root = tree({
      ...nics({ eth0: "52:54:00:00:00:01" }),
      [`${ND}/25-vlan1.netdev`]: "[Match]\nVirtualization=no\n\n[NetDev]\nName=vlan1\nKind=vlan\n\n[VLAN]\nId=1\n",
      [`${ND}/25-eth0.network`]: "[Match]\nName=eth0\n\n[Network]\nVLAN=vlan1\nDHCP=yes\n",
      [`${ND}/25-vlan1.network`]: "[Match]\nName=vlan1\n\n[Network]\nAddress=10.1.0.2/24\n",
    });
    const found = captureNetworkd(root);
    expect(found.interfaces.map((i) => i.name)).toEqual(["eth0"]);
    expect(ids(found)).toEqual(["netdev-condition"]);
  });

  test("an 802.1ad VLAN, a port of a missing bond, a second primary: refused or named", () => {
    const root = tree({
      ...nics({ eth0: "52:54:00:00:00:01", eth1: "52:54:00:00:00:02", eth2: "52:54:00:00:00:03" }),
      [`${ND}/10-bond0.netdev`]: "[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=active-backup\nFailOverMACPolicy=active\n",
      [`${ND}/10-qinq.netdev`]: "[NetDev]\nName=qinq\nKind=vlan\n\n[VLAN]\nId=10\nProtocol=802.1ad\n",
      [`${ND}/20-eth0.network`]: "[Match]\nName=eth0\n\n[Network]\nBond=bond0\nPrimarySlave=yes\nVLAN=qinq\n",
      [`${ND}/20-eth1.network`]: "[Match]\nName=eth1\n\n[Network]\nBond=bond0\nPrimarySlave=yes\nAddress=10.0.0.1/24\n",
      [`${ND}/20-eth2.network`]: "[Match]\nName=eth2\n\n[Network]\nBond=bond9\n",
    });
    const found = captureNetworkd(root);
    expect(byName(found.interfaces).map((i) => i.name)).toEqual(["bond0", "eth0", "eth1"]);
    expect(named(found, "bond0")).toMatchObject({ activation: "manual", bond: { mode: "active-backup", primary: "eth0" } });
    expect(ids(found).sort()).toEqual(["bond-primary-ambiguous", "controller-missing", "networkd-setting-not-carried", "port-addresses-not-carried", "vlan-protocol-not-carried"]);
  });
});

describe("networkd [Match] and [Link]", () => {
  test("several MACs: each NIC present gets that configuration; PermanentMACAddress= is the NIC's own MAC", () => {
    const root = tree({
      ...nics({ enp1s0: "52:54:00:00:00:01", enp2s0: "52:54:00:00:00:02", enp3s0: "52:54:00:00:00:03" }),
      [`${ND}/10-mgmt.network`]: "[Match]\nMACAddress=52:54:00:00:00:01 52:54:00:00:00:02\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n",
      [`${ND}/20-perm.network`]: "[Match]\nPermanentMACAddress=52:54:00:00:00:03\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n",
    });
    expect(captureNetworkd(root).interfaces.map((i) => [i.name, i.mac, i.source])).toEqual([
      ["enp1s0", "52:54:00:00:00:01", "/etc/systemd/network/10-mgmt.network"],
      ["enp2s0", "52:54:00:00:00:02", "/etc/systemd/network/10-mgmt.network"],
      ["enp3s0", "52:54:00:00:00:03", "/etc/systemd/network/20-perm.network"],
    ]);
  });

  test("Driver= is checked against ROOT/sys/class/net/NAME/device/driver; Path= cannot be: that NIC is named and left", () => {
    const root = tree({
      ...nics({ enp1s0: "52:54:00:00:00:01", enp2s0: "52:54:00:00:00:02" }),
      "sys/class/net/enp1s0/device/driver": "-> ../../../../bus/pci/drivers/virtio_net",
      [`${ND}/10-virtio.network`]: "[Match]\nDriver=virtio_net\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n",
      [`${ND}/20-by-path.network`]: "[Match]\nPath=pci-0000:02:00.0\n\n[Network]\nAddress=10.2.0.1/24\n",
    });
    const found = captureNetworkd(root);
    expect(found.interfaces.map((i) => i.name)).toEqual(["enp1s0"]);
    expect(found.warnings).toEqual([
      {
        id: "network-match-unknown",
        message: "not carried: /etc/systemd/network/10-virtio.network may configure enp2s0 by [Match] Driver, which cannot be checked here; enp2s0 is not carried",
        interface: "enp2s0",
      },
    ]);
  });

  test("ActivationPolicy= manual and down leave it down; Unmanaged=yes is named; MTUBytes= with a K suffix", () => {
    const root = tree({
      ...nics({ eth0: "52:54:00:00:00:01", eth1: "52:54:00:00:00:02", eth2: "52:54:00:00:00:03", eth3: "52:54:00:00:00:04" }),
      [`${ND}/10-eth0.network`]: "[Match]\nName=eth0\n\n[Link]\nActivationPolicy=manual\n\n[Network]\nAddress=10.0.0.2/24\nLinkLocalAddressing=no\n",
      [`${ND}/10-eth1.network`]: "[Match]\nName=eth1\n\n[Link]\nActivationPolicy=down\nMTUBytes=9K\nRequiredForOnline=no\n\n[Network]\nLinkLocalAddressing=no\n",
      [`${ND}/10-eth2.network`]: "[Match]\nName=eth2\n\n[Link]\nUnmanaged=yes\n",
      [`${ND}/10-eth3.network`]: "[Match]\nName=eth3\n\n[Link]\nActivationPolicy=bound\nMACAddress=02:00:00:00:00:09\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n",
    });
    const found = captureNetworkd(root);
    expect(found.interfaces.map((i) => [i.name, i.activation, i.mtu, i.mac])).toEqual([
      ["eth0", "manual", undefined, "52:54:00:00:00:01"],
      ["eth1", "manual", 9216, "52:54:00:00:00:02"],
      ["eth3", "boot", undefined, "52:54:00:00:00:04"],
    ]);
    expect(ids(found)).toEqual(["networkd-unmanaged", "activation-not-carried", "mac-not-carried"]);
  });

  test("without /sys/class/net the files' own names and MACs are the NICs; a glob is left to resolve-interfaces", () => {
    const root = tree({
      [`${ND}/10-eth0.network`]: "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n",
      [`${ND}/20-mac.network`]: "[Match]\nMACAddress=52:54:00:00:00:09\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n",
      [`${ND}/50-dhcp.network`]: "[Match]\nName=en*\n\n[Network]\nDHCP=yes\n",
    });
    expect(captureNetworkd(root).interfaces.map((i) => [i.name, i.mac])).toEqual([
      ["eth0", undefined],
      [undefined, "52:54:00:00:00:09"],
      ["en*", undefined],
    ]);
  });
});

describe("networkd [Network], [Address], [Route], DHCP and RA", () => {
  test("IPv6AcceptRA= follows systemd's default: on, off on a bridge, off when sysctl forwards IPv6; LinkLocalAddressing=no means no IPv6", () => {
    const files = {
      ...nics({ eth0: "52:54:00:00:00:01", eth1: "52:54:00:00:00:02" }),
      [`${ND}/10-eth0.network`]: "[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.2/24\n",
      [`${ND}/10-eth1.network`]: "[Match]\nName=eth1\n\n[Network]\nAddress=192.0.2.3/24\nLinkLocalAddressing=no\n",
    };
    const plain = captureNetworkd(tree(files));
    expect(named(plain, "eth0")?.ipv6).toEqual({ autoconf: true, dhcp: false, addresses: [], routes: [] });
    expect(named(plain, "eth1")?.ipv6).toBeUndefined();
    const router = captureNetworkd(tree({ ...files, "etc/sysctl.d/99-router.conf": "net.ipv6.conf.all.forwarding = 1\n" }));
    expect(named(router, "eth0")?.ipv6).toBeUndefined();
    expect(plain.warnings).toEqual([]);
  });

  test("Hetzner installimage: MAC match, the main IP with Peer= the gateway, IPv6 gateway fe80::1", () => {
    const root = tree({
      ...nics({ enp0s31f6: "90:1b:0e:aa:bb:cc" }),
      [`${ND}/10-mainif.network`]: [
        "### Hetzner Online GmbH installimage",
        "[Match]",
        "MACAddress=90:1b:0e:aa:bb:cc",
        "",
        "[Network]",
        "Address=2a01:4f8:161:1234::2/64",
        "Gateway=fe80::1",
        "Gateway=148.251.10.1",
        "",
        "[Address]",
        "Address=148.251.10.20",
        "Peer=148.251.10.1/32",
        "",
      ].join("\n"),
    });
    const found = captureNetworkd(root);
    expect(found.interfaces).toEqual([
      {
        name: "enp0s31f6",
        mac: "90:1b:0e:aa:bb:cc",
        kind: "ethernet",
        activation: "boot",
        ipv4: { dhcp: false, addresses: [{ address: "148.251.10.20", prefix: 32 }], gateway: { via: "148.251.10.1" }, routes: [{ to: "148.251.10.1/32" }] },
        ipv6: { autoconf: true, dhcp: false, addresses: [{ address: "2a01:4f8:161:1234::2", prefix: 64 }], gateway: { via: "fe80::1" }, routes: [] },
        source: "/etc/systemd/network/10-mainif.network",
      },
    ]);
    expect(found.warnings).toEqual([]);
  });

  test("OVH's IPv6 guide: RA off, the gateway outside the prefix reached by an on-link route, DHCPv4 for IPv4", () => {
    const root = tree({
      ...nics({ eno1: "0c:c4:7a:11:22:33" }),
      [`${ND}/50-default.network`]: [
        "[Match]",
        "MACAddress=0c:c4:7a:11:22:33",
        "",
        "[Network]",
        "Description=network interface on public network, with default route",
        "DHCP=ipv4",
        "IPv6AcceptRA=false",
        "NTP=ntp.ovh.net",
        "",
        "[Address]",
        "Address=2001:41d0:302:2100::4ea/56",
        "",
        "[Route]",
        "Destination=2001:41d0:302:21ff:ff:ff:ff:ff",
        "Scope=link",
        "",
        "[Route]",
        "Gateway=2001:41d0:302:21ff:ff:ff:ff:ff",
        "",
      ].join("\n"),
    });
    const found = captureNetworkd(root);
    expect(found.interfaces[0]?.ipv4).toEqual({ dhcp: true, addresses: [], routes: [] });
    expect(found.interfaces[0]?.ipv6).toEqual({
      autoconf: false,
      dhcp: false,
      addresses: [{ address: "2001:41d0:302:2100::4ea", prefix: 56 }],
      gateway: { via: "2001:41d0:302:21ff:ff:ff:ff:ff" },
      routes: [{ to: "2001:41d0:302:21ff:ff:ff:ff:ff/128", scope: "link" }],
    });
    expect(found.warnings).toEqual([]);
  });

  test("cloud-init's networkd renderer: sections sorted, DHCP=no, MAC and Name, [Address] and [Route] sections, capitalised booleans", () => {
    const root = tree({
      ...nics({ eth0: "ae:98:25:fa:36:9e", eth1: "00:11:22:33:44:55" }),
      [`${ND}/10-cloud-init-eth0.network`]:
        "[Address]\nAddress=10.0.0.2/32\n\n[Address]\nAddress=2a01:4f8:10a:19d2::4/64\n\n[Match]\nMACAddress=ae:98:25:fa:36:9e\nName=eth0\n\n[Network]\nDHCP=no\nDNS=100.100.100.100\nDomains=rgrunbla.github.beta.tailscale.net\n\n[Route]\nGateway=10.0.0.1\n\n[Route]\nGateway=2a01:4f8:10a:19d2::2\n\n",
      [`${ND}/10-cloud-init-eth1.network`]:
        "[DHCPv4]\nHostname=hal\nRouteMetric=1100\nSendHostname=False\nUseDNS=False\nUseDomains=False\nUseHostname=False\nUseMTU=False\nUseNTP=False\nUseRoutes=False\n\n[DHCPv6]\nUseDNS=False\nUseDomains=False\nUseHostname=False\nUseNTP=False\n\n[Match]\nMACAddress=00:11:22:33:44:55\nName=eth1\n\n[Network]\nDHCP=yes\nDNS=8.8.8.8 2001:4860:4860::8888\n\n",
    });
    const found = captureNetworkd(root);
    expect(named(found, "eth0")?.ipv4).toEqual({ dhcp: false, addresses: [{ address: "10.0.0.2", prefix: 32 }], gateway: { via: "10.0.0.1" }, routes: [] });
    expect(named(found, "eth0")?.ipv6?.gateway).toEqual({ via: "2a01:4f8:10a:19d2::2" });
    expect(named(found, "eth1")?.ipv4).toEqual({ dhcp: true, neverDefault: true, addresses: [], routes: [] });
    expect(named(found, "eth1")?.ipv6).toEqual({ autoconf: true, dhcp: false, addresses: [], routes: [] });
    expect(found.dns).toEqual({ servers: ["100.100.100.100", "8.8.8.8", "2001:4860:4860::8888"], search: ["rgrunbla.github.beta.tailscale.net"] });
    // UseGateway=no follows UseRoutes=no, so no RouteMetric warning: there is no DHCP default route
    expect(ids(found)).toEqual(["dhcp-routes-not-carried"]);
  });

  test("[Route] with every option, a default route with a metric, Table=main, and routes that cannot be carried", () => {
    const root = tree({
      ...nics({ eth0: "52:54:00:00:00:01" }),
      [`${ND}/10-eth0.network`]: [
        "[Match]\nName=eth0\n\n[Network]\nAddress=10.0.0.2/24\nLinkLocalAddressing=no",
        "[Route]\nGateway=10.0.0.1\nMetric=50",
        "[Route]\nGateway=10.0.0.254\nMetric=200",
        "[Route]\nDestination=172.16.0.0/12\nGateway=10.0.0.3\nGatewayOnLink=yes\nMetric=10\nPreferredSource=10.0.0.2\nTable=100\nScope=global\nProtocol=static",
        "[Route]\nDestination=192.168.9.0/24\nTable=main",
        "[Route]\nDestination=203.0.113.0/24\nType=blackhole",
        "[Route]\nGateway=_dhcp4",
        "[Route]\nDestination=198.18.0.0/15\nType=throw",
        "[Route]\nDestination=198.51.100.0/24\nGateway=10.0.0.4\nMTUBytes=1400",
        "[RoutingPolicyRule]\nFrom=10.0.0.2\nTable=100",
      ].join("\n\n"),
    });
    const found = captureNetworkd(root);
    expect(found.interfaces[0]?.ipv4).toEqual({
      dhcp: false,
      addresses: [{ address: "10.0.0.2", prefix: 24 }],
      gateway: { via: "10.0.0.1", metric: 50 },
      routes: [
        { to: "0.0.0.0/0", via: "10.0.0.254", metric: 200 },
        { to: "172.16.0.0/12", via: "10.0.0.3", onlink: true, metric: 10, src: "10.0.0.2", table: 100, scope: "global" },
        { to: "192.168.9.0/24", table: 254 },
        { to: "203.0.113.0/24", type: "blackhole" },
        { to: "198.51.100.0/24", via: "10.0.0.4" },
      ],
    });
    expect(found.warnings.map((w) => w.message)).toEqual([
      "not carried: eth0 in /etc/systemd/network/10-eth0.network: [Route] MTUBytes=1400 is not carried",
      "not carried: eth0 in /etc/systemd/network/10-eth0.network: [RoutingPolicyRule] is not carried",
      "not carried: eth0 in /etc/systemd/network/10-eth0.network: [Route] Gateway=_dhcp4: Gateway=_dhcp4 (a gateway from DHCP or router advertisements) is not carried",
      "not carried: eth0 in /etc/systemd/network/10-eth0.network: [Route] Destination=198.18.0.0/15 Type=throw: Type=throw is not carried",
    ]);
  });

  test("DNS= with %interface, #server name, ports and brackets; Domains= routing-only (~) are not search domains", () => {
    const root = tree({
      ...nics({ eth0: "52:54:00:00:00:01" }),
      [`${ND}/10-eth0.network`]:
        "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nDNS=1.1.1.1#cloudflare-dns.com 9.9.9.9%eth0\nDNS=[2620:fe::fe]:53#dns.quad9.net\nDNS=10.0.0.53:5353\nDNS=fe80::1%eth0\nDNS=not-an-ip\nDomains=corp.example ~internal.example ~.\nDNSOverTLS=yes\n",
    });
    const found = captureNetworkd(root);
    expect(found.dns).toEqual({ servers: ["1.1.1.1", "9.9.9.9", "2620:fe::fe"], search: ["corp.example"] });
    expect(ids(found)).toEqual(["dns-not-carried", "dns-not-carried", "dns-not-carried", "routing-domain-not-carried"]);
  });

  test("malformed values are warnings naming file and key, never a crash", () => {
    const root = tree({
      ...nics({ eth0: "52:54:00:00:00:01" }),
      [`${ND}/05-bond.netdev`]: "[NetDev]\nName=bond0\nKind=bond\nMTUBytes=huge\n\n[Bond]\nMode=fastest\nMIIMonitorSec=soon\nLACPTransmitRate=sometimes\n",
      [`${ND}/05-vlan.netdev`]: "[NetDev]\nName=v5000\nKind=vlan\n\n[VLAN]\nId=5000\n",
      [`${ND}/10-eth0.network`]:
        "[Match]\nName=eth0\n\n[Link]\nMTUBytes=abc\nActivationPolicy=sometimes\n\n[Network]\nAddress=10.0.0.300/24\nAddress=10.0.0.2\nDHCP=maybe\nIPv6AcceptRA=perhaps\nLinkLocalAddressing=nope\nVLAN=v5000\nGateway=gw\n\n[Address]\nLabel=x\n\n[Route]\nDestination=10.9.0.0/16\nMetric=low\n",
      [`${ND}/20-bond0.network`]: "[Match]\nName=bond0\n\n[Network]\nDHCP=yes\n",
    });
    const found = captureNetworkd(root);
    expect(found.interfaces.map((i) => i.name).sort()).toEqual(["bond0", "eth0"]);
    expect(named(found, "bond0")?.bond).toEqual({ mode: "balance-rr" });
    expect(found.warnings.every((w) => w.message.startsWith("not carried: ") && w.message.includes("/etc/systemd/network/"))).toBe(true);
    // networkd ignores what it cannot parse and keeps its default: so does the capture, and says so
    expect(found.warnings.map((w) => w.message.replace(/^not carried: \S+ in \/etc\/systemd\/network\/(\S+): /, "$1 "))).toEqual([
      "05-bond.netdev [NetDev] MTUBytes=huge is not an MTU",
      "05-bond.netdev [Bond] Mode=fastest is not a bonding mode; the kernel default balance-rr is carried",
      "05-bond.netdev [Bond] MIIMonitorSec=soon is not a time span",
      "05-bond.netdev [Bond] LACPTransmitRate=sometimes is neither slow nor fast",
      "05-vlan.netdev [VLAN] Id=5000 is not a VLAN id; the VLAN is not carried",
      "10-eth0.network ActivationPolicy=sometimes is not carried; it is brought up at boot",
      "10-eth0.network [Link] MTUBytes=abc is not an MTU",
      "10-eth0.network Address=10.0.0.300/24 is not an address with a prefix length",
      "10-eth0.network Address=10.0.0.2 is not an address with a prefix length",
      "10-eth0.network an [Address] section has no Address=",
      "10-eth0.network Gateway=gw is not an address",
      "10-eth0.network [Route] Destination=10.9.0.0/16 Metric=low: Metric=low is not a number",
      "10-eth0.network DHCP=maybe is not understood; no DHCP is carried",
      "10-eth0.network LinkLocalAddressing=nope is not understood; IPv6 link-local (the default) is assumed",
      "10-eth0.network IPv6AcceptRA=perhaps is not a boolean; networkd's default is carried",
    ]);
  });
});

describe("render systemd-networkd", () => {
  const BOND_VLAN: CapturedInterface[] = [
    { name: "eth0", kind: "ethernet", mac: "52:54:00:12:00:01", activation: "boot", controller: "bond0" },
    { name: "eth1", kind: "ethernet", mac: "52:54:00:12:00:02", activation: "boot", controller: "bond0" },
    { name: "bond0", kind: "bond", activation: "boot", bond: { mode: "active-backup", miimon: 100, primary: "eth0" } },
    {
      name: "bond0.100",
      kind: "vlan",
      activation: "boot",
      vlan: { id: 100, parent: "bond0" },
      ipv4: { dhcp: false, addresses: [{ address: "192.168.100.10", prefix: 24 }], gateway: { via: "192.168.100.1", metric: 100 }, routes: [] },
      ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:100::10", prefix: 64 }], gateway: { via: "2001:db8:100::1", metric: 100 }, routes: [] },
    },
    { name: "eth2", kind: "ethernet", mac: "52:54:00:12:00:03", activation: "manual" },
  ];
  const config = (interfaces: CapturedInterface[], dns = { servers: ["192.168.100.53", "2001:db8:100::53"], search: ["lab.example"] }): CapturedConfig =>
    parseCapturedConfig({ format: 2, interfaces, dns, accounts: [], mounts: [], paths: [], warnings: [] });

  test("bond of two NICs + VLAN 100 with IPv4 and IPv6 and two default routes, and a NIC left down", () => {
    expect(renderNetworkd(config(BOND_VLAN))).toEqual([
      { path: "/etc/systemd/network/01-va-bond0.100.netdev", mode: 0o644, content: "[NetDev]\nName=bond0.100\nKind=vlan\n\n[VLAN]\nId=100\n" },
      {
        path: "/etc/systemd/network/01-va-bond0.100.network",
        mode: 0o644,
        content: [
          "[Match]",
          "Name=bond0.100",
          "",
          "[Network]",
          "LinkLocalAddressing=ipv6",
          "IPv6AcceptRA=no",
          "Address=192.168.100.10/24",
          "Address=2001:db8:100::10/64",
          "DNS=192.168.100.53",
          "DNS=2001:db8:100::53",
          "Domains=lab.example",
          "",
          "[Route]",
          "Gateway=192.168.100.1",
          "Metric=100",
          "",
          "[Route]",
          "Gateway=2001:db8:100::1",
          "Metric=100",
          "",
        ].join("\n"),
      },
      { path: "/etc/systemd/network/01-va-bond0.netdev", mode: 0o644, content: "[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=active-backup\nMIIMonitorSec=100ms\n" },
      {
        path: "/etc/systemd/network/01-va-bond0.network",
        mode: 0o644,
        content: "[Match]\nName=bond0\n\n[Link]\nRequiredForOnline=no\n\n[Network]\nVLAN=bond0.100\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n",
      },
      { path: "/etc/systemd/network/02-va-eth0.network", mode: 0o644, content: "[Match]\nPermanentMACAddress=52:54:00:12:00:01\n\n[Network]\nBond=bond0\nPrimarySlave=yes\nLinkLocalAddressing=no\n" },
      { path: "/etc/systemd/network/02-va-eth1.network", mode: 0o644, content: "[Match]\nPermanentMACAddress=52:54:00:12:00:02\n\n[Network]\nBond=bond0\nLinkLocalAddressing=no\n" },
      {
        path: "/etc/systemd/network/02-va-eth2.network",
        mode: 0o644,
        content: "[Match]\nPermanentMACAddress=52:54:00:12:00:03\n\n[Link]\nActivationPolicy=manual\nRequiredForOnline=no\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n",
      },
    ]);
  });

  test("PermanentMACAddress= matches a port alone: the bond and its VLAN carry that MAC at runtime, MACAddress= would match them too", () => {
    const files = renderNetworkd(config(BOND_VLAN));
    const portFile = parseIni(files.find((f) => f.path.endsWith("02-va-eth0.network"))!.content);
    const runtime = { mac: "52:54:00:12:00:01" };
    expect(matchDevice(portFile, { name: "bond0", kind: "bond", type: "bond", ...runtime })).toEqual({ result: "no" });
    expect(matchDevice(portFile, { name: "bond0.100", kind: "vlan", type: "vlan", ...runtime })).toEqual({ result: "no" });
    expect(matchDevice(portFile, { name: "enp1s0", type: "ether", ...runtime, permanentMac: "52:54:00:12:00:01" })).toEqual({ result: "yes" });
    // the second port, enslaved: its current MAC is the bond's, its own file still matches it and only it
    const secondPort = { name: "enp2s0", type: "ether", mac: "52:54:00:12:00:01", permanentMac: "52:54:00:12:00:02" };
    expect(matchDevice(portFile, secondPort)).toEqual({ result: "no" });
    const macAddressStyle = parseIni("[Match]\nMACAddress=52:54:00:12:00:01\n");
    expect(matchDevice(macAddressStyle, { name: "bond0", kind: "bond", type: "bond", ...runtime })).toEqual({ result: "yes" });
  });

  test("virtual devices' files sort before the NICs', and all before the distribution's and cloud-init's (10-…)", () => {
    const paths = renderNetworkd(config(BOND_VLAN)).map((f) => f.path.split("/").at(-1)!);
    expect([...paths].sort()).toEqual(paths);
    expect(paths.every((name) => name < "10-")).toBe(true);
  });

  describe("round trip: render, then captureNetworkd gives the same interfaces", () => {
    function roundTrip(interfaces: CapturedInterface[]): NetworkFindings {
      const rendered = renderNetworkd(config(interfaces));
      const sys = Object.fromEntries(interfaces.filter((i) => i.kind === "ethernet").map((i) => [`sys/class/net/${i.name}/address`, `${i.mac}\n`]));
      const root = tree({ ...sys, ...Object.fromEntries(rendered.map((f) => [f.path.slice(1), f.content])) });
      return captureNetworkd(root);
    }
    const strip = (found: NetworkFindings) => byName(found.interfaces).map(({ source: _source, ...rest }) => rest);
    const sorted = (interfaces: CapturedInterface[]) => [...interfaces].sort((a, b) => a.name.localeCompare(b.name));

    const cases: Record<string, CapturedInterface[]> = {
      static: [{ name: "ens3", kind: "ethernet", mac: "52:54:00:aa:00:01", activation: "boot", mtu: 9000, ipv4: { dhcp: false, addresses: [{ address: "10.1.1.5", prefix: 24 }], gateway: { via: "10.1.1.1" }, routes: [] } }],
      "dual stack with SLAAC": [
        {
          name: "ens3",
          kind: "ethernet",
          mac: "52:54:00:aa:00:01",
          activation: "boot",
          ipv4: { dhcp: false, addresses: [{ address: "10.1.1.5", prefix: 24 }], gateway: { via: "10.1.1.1" }, routes: [] },
          ipv6: { autoconf: true, dhcp: false, addresses: [{ address: "2001:db8::5", prefix: 64 }], gateway: { via: "fe80::1" }, routes: [] },
        },
      ],
      "bond + VLAN + disabled NIC": BOND_VLAN,
      "802.3ad bond with every option": [
        { name: "eno1", kind: "ethernet", mac: "3c:ec:ef:00:00:01", activation: "boot", controller: "bond1", mtu: 9000 },
        { name: "eno2", kind: "ethernet", mac: "3c:ec:ef:00:00:02", activation: "boot", controller: "bond1", mtu: 9000 },
        {
          name: "bond1",
          kind: "bond",
          mac: "02:00:00:00:00:01",
          mtu: 9000,
          activation: "boot",
          bond: { mode: "802.3ad", miimon: 100, updelay: 200, downdelay: 400, lacpRate: "fast", xmitHashPolicy: "layer3+4" },
          ipv4: { dhcp: true, addresses: [], routes: [] },
        },
      ],
      bridge: [
        { name: "enp1s0", kind: "ethernet", mac: "52:54:00:bb:00:01", activation: "boot", controller: "br0" },
        { name: "br0", kind: "bridge", activation: "boot", bridge: { stp: true, forwardDelay: 4 }, ipv4: { dhcp: false, addresses: [{ address: "10.2.0.1", prefix: 24 }], routes: [] } },
      ],
      "DHCP never-default on both families": [
        { name: "ens4", kind: "ethernet", mac: "52:54:00:cc:00:01", activation: "boot", ipv4: { dhcp: true, neverDefault: true, addresses: [], routes: [] }, ipv6: { autoconf: true, dhcp: true, neverDefault: true, addresses: [], routes: [] } },
      ],
      "metrics and routes with every option": [
        {
          name: "ens5",
          kind: "ethernet",
          mac: "52:54:00:dd:00:01",
          activation: "boot",
          ipv4: {
            dhcp: false,
            addresses: [{ address: "10.3.0.5", prefix: 24 }],
            gateway: { via: "10.3.0.1", metric: 20 },
            routes: [
              { to: "0.0.0.0/0", via: "10.3.0.2", metric: 300 },
              { to: "172.16.0.0/12", via: "10.3.0.254", metric: 10, src: "10.3.0.5", table: 100, onlink: true, scope: "global" },
              { to: "10.4.0.0/16", scope: "link" },
              { to: "203.0.113.0/24", type: "unreachable" },
            ],
          },
          ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:3::5", prefix: 64 }], gateway: { via: "2001:db8:3::1", metric: 1024 }, routes: [{ to: "2001:db8:99::/48", via: "2001:db8:3::fe", metric: 5 }] },
        },
        { name: "ens6", kind: "ethernet", mac: "52:54:00:dd:00:02", activation: "manual", ipv4: { dhcp: false, addresses: [{ address: "192.168.5.5", prefix: 24 }], routes: [] } },
      ],
    };
    for (const [name, interfaces] of Object.entries(cases)) {
      test(name, () => {
        const found = roundTrip(interfaces);
        expect(strip(found)).toEqual(sorted(interfaces));
        expect(found.warnings).toEqual([]);
      });
    }

    test("the DNS comes back from the carrier's file", () => {
      expect(roundTrip(BOND_VLAN).dns).toEqual({ servers: ["192.168.100.53", "2001:db8:100::53"], search: ["lab.example"] });
    });
  });
});
