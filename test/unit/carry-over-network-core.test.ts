import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach } from "bun:test";
import { effectiveDns } from "../../agent/carry-over/capture-resolv-conf.ts";
import type { CapturedInterface } from "../../agent/carry-over/captured-config.ts";
import { crossCheckLive, managementInterfaces } from "../../agent/carry-over/cross-check-live.ts";
import { parseLiveNetwork } from "../../agent/carry-over/live-network.ts";
import { canonicalAddress } from "../../agent/carry-over/ip-address.ts";
import { networkMeaning } from "../../agent/carry-over/network-meaning.ts";
import type { FoundInterface } from "../../agent/carry-over/network-findings.ts";
import { resolveInterfaces } from "../../agent/carry-over/resolve-interfaces.ts";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function rootWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "va-core-"));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const nic = (name: string, extra: Partial<FoundInterface> = {}): FoundInterface => ({ name, kind: "ethernet", activation: "boot", source: `/etc/x/${name}`, ...extra });
const staticV4 = (address: string, gateway?: string) => ({ dhcp: false, addresses: [{ address, prefix: 24 }], routes: [], ...(gateway ? { gateway: { via: gateway } } : {}) });

// `ip -j -d addr` of a box with eno1+eno2 in bond0 (802.3ad) and VLAN 100 on it, as iproute2 prints it
const BOND_VLAN_ADDR = JSON.stringify([
  { ifindex: 1, ifname: "lo", address: "00:00:00:00:00:00", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host" }] },
  { ifindex: 2, ifname: "eno1", master: "bond0", address: "3c:ec:ef:00:00:01", linkinfo: { info_slave_kind: "bond", info_slave_data: { state: "ACTIVE", perm_hwaddr: "3c:ec:ef:00:00:01" } }, addr_info: [] },
  { ifindex: 3, ifname: "eno2", master: "bond0", address: "3c:ec:ef:00:00:01", linkinfo: { info_slave_kind: "bond", info_slave_data: { state: "BACKUP", perm_hwaddr: "3c:ec:ef:00:00:02" } }, addr_info: [] },
  { ifindex: 4, ifname: "bond0", address: "3c:ec:ef:00:00:01", linkinfo: { info_kind: "bond", info_data: { mode: "802.3ad" } }, addr_info: [] },
  {
    ifindex: 5,
    ifname: "bond0.100",
    link: "bond0",
    address: "3c:ec:ef:00:00:01",
    linkinfo: { info_kind: "vlan", info_data: { protocol: "802.1Q", id: 100 } },
    addr_info: [
      { family: "inet", local: "192.0.2.10", prefixlen: 24, scope: "global" },
      { family: "inet6", local: "2001:db8:100::10", prefixlen: 64, scope: "global" },
      { family: "inet6", local: "fe80::3eec:efff:fe00:1", prefixlen: 64, scope: "link" },
    ],
  },
]);
const BOND_VLAN_ROUTE4 = JSON.stringify([{ dst: "default", gateway: "192.0.2.1", dev: "bond0.100", protocol: "static", flags: [] }]);
const BOND_VLAN_ROUTE6 = JSON.stringify([{ dst: "default", gateway: "2001:db8:100::1", dev: "bond0.100", metric: 1024, flags: [] }]);

const bondVlanConfig: CapturedInterface[] = [
  { name: "eno1", kind: "ethernet", mac: "3c:ec:ef:00:00:01", activation: "boot", controller: "bond0" },
  { name: "eno2", kind: "ethernet", mac: "3c:ec:ef:00:00:02", activation: "boot", controller: "bond0" },
  { name: "bond0", kind: "bond", activation: "boot", bond: { mode: "802.3ad", miimon: 100 } },
  {
    name: "bond0.100",
    kind: "vlan",
    activation: "boot",
    vlan: { id: 100, parent: "bond0" },
    ipv4: staticV4("192.0.2.10", "192.0.2.1"),
    ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:100::10", prefix: 64 }], gateway: { via: "2001:db8:100::1" }, routes: [] },
  },
];

describe("live network", () => {
  test("kinds, ports with their permanent MACs, VLAN parent, global IPv6 only, both default routes", () => {
    const live = parseLiveNetwork(BOND_VLAN_ADDR, BOND_VLAN_ROUTE4, BOND_VLAN_ROUTE6);
    expect(live.links.map((l) => l.name)).toEqual(["eno1", "eno2", "bond0", "bond0.100"]);
    expect(live.links[1]).toMatchObject({ mac: "3c:ec:ef:00:00:01", permanentMac: "3c:ec:ef:00:00:02", controller: "bond0" });
    expect(live.links[3]).toMatchObject({ kind: "vlan", vlan: { id: 100, parent: "bond0" }, ipv6: [{ address: "2001:db8:100::10", prefix: 64 }] });
    expect(live.defaultRoutes).toEqual([
      { family: "ipv4", dev: "bond0.100", gateway: "192.0.2.1" },
      { family: "ipv6", dev: "bond0.100", gateway: "2001:db8:100::1", metric: 1024 },
    ]);
  });

  test("the bond+VLAN box agrees with its configuration: nothing to say", () => {
    expect(crossCheckLive(bondVlanConfig, parseLiveNetwork(BOND_VLAN_ADDR, BOND_VLAN_ROUTE4, BOND_VLAN_ROUTE6))).toEqual([]);
  });

  test("a live default route on an interface whose configuration is not carried is flagged, naming it", () => {
    const withoutVlan = bondVlanConfig.slice(0, 3);
    const warnings = crossCheckLive(withoutVlan, parseLiveNetwork(BOND_VLAN_ADDR, BOND_VLAN_ROUTE4, BOND_VLAN_ROUTE6));
    expect(warnings.filter((w) => w.id === "live-default-route-not-carried").map((w) => w.interface)).toEqual(["bond0.100", "bond0.100"]);
    expect(warnings.some((w) => w.id === "unconfigured-live-address" && w.interface === "bond0.100")).toBe(true);
  });

  test("a different static address or VLAN id is reported by the interface's name", () => {
    const changed = bondVlanConfig.map((item) => (item.kind === "vlan" ? { ...item, vlan: { id: 200, parent: "bond0" }, ipv4: staticV4("192.0.2.11", "192.0.2.1") } : item));
    const warnings = crossCheckLive(changed, parseLiveNetwork(BOND_VLAN_ADDR, BOND_VLAN_ROUTE4, BOND_VLAN_ROUTE6));
    expect(warnings.map((w) => [w.id, w.interface])).toEqual([
      ["live-differs", "bond0.100"],
      ["live-differs", "bond0.100"],
    ]);
    expect(warnings[0]!.message).toContain("VLAN 100 on bond0 live, VLAN 200");
  });

  test("management interfaces: the default route's VLAN, the bond under it and its NICs; or where the UI was reached", () => {
    const live = parseLiveNetwork(BOND_VLAN_ADDR, BOND_VLAN_ROUTE4, BOND_VLAN_ROUTE6);
    expect(managementInterfaces(bondVlanConfig, live)).toEqual(["bond0", "bond0.100", "eno1", "eno2"]);
    // the VLAN's configuration is dropped: the live state still says what it rests on
    expect(managementInterfaces(bondVlanConfig.slice(0, 2), live)).toEqual(["bond0", "bond0.100", "eno1", "eno2"]);
    expect(managementInterfaces(bondVlanConfig, { links: live.links, defaultRoutes: [] }, "2001:db8:100::10")).toEqual(["bond0", "bond0.100", "eno1", "eno2"]);
    expect(managementInterfaces(bondVlanConfig, { links: live.links, defaultRoutes: [] })).toEqual([]);
  });
});

describe("resolve interfaces", () => {
  test("a NIC is bound by the file's MAC, else sysfs, else live; a bond port by its permanent MAC", () => {
    const root = rootWith({
      "sys/class/net/eth0/address": "52:54:00:00:00:01\n",
      "sys/class/net/eth0/bonding_slave/perm_hwaddr": "52:54:00:00:00:01\n",
      "sys/class/net/eth1/address": "52:54:00:00:00:01\n",
      "sys/class/net/eth1/bonding_slave/perm_hwaddr": "52:54:00:00:00:02\n",
      "sys/class/net/bond0/address": "52:54:00:00:00:01\n",
      "sys/class/net/bond0/bonding/mode": "active-backup 1\n",
    });
    const { interfaces, warnings } = resolveInterfaces(root, [
      nic("eth0", { controller: "bond0" }),
      nic("eth1", { controller: "bond0" }),
      { name: "bond0", kind: "bond", activation: "boot", bond: { mode: "active-backup", primary: "eth0" }, ipv4: staticV4("10.0.0.2"), source: "/etc/x/bond0" },
    ]);
    expect(warnings).toEqual([]);
    expect(interfaces.map((i) => [i.name, i.mac])).toEqual([
      ["eth0", "52:54:00:00:00:01"],
      ["eth1", "52:54:00:00:00:02"],
      ["bond0", undefined],
    ]);
  });

  test("a port showing the bond's MAC without its own known is refused, not bound to its sibling's NIC", () => {
    const root = rootWith({ "sys/class/net/eth0/address": "52:54:00:00:00:01\n", "sys/class/net/eth1/address": "52:54:00:00:00:01\n" });
    const { interfaces, warnings } = resolveInterfaces(root, [nic("eth0"), nic("eth1")]);
    expect(interfaces).toEqual([]);
    expect(warnings.map((w) => [w.id, w.interface])).toEqual([
      ["interface-mac-shared", "eth0"],
      ["interface-mac-shared", "eth1"],
    ]);
  });

  test("a port whose controller is not carried falls, and a VLAN on that, each named", () => {
    const root = rootWith({ "sys/class/net/eth0/address": "52:54:00:00:00:01\n" });
    const { interfaces, warnings } = resolveInterfaces(root, [
      nic("eth0", { controller: "br0" }),
      { name: "br0", kind: "bridge", activation: "boot", bridge: { stp: false }, vlan: undefined, controller: "bond9", source: "/etc/x/br0" },
      { name: "br0.5", kind: "vlan", activation: "boot", vlan: { id: 5, parent: "br0" }, ipv4: staticV4("10.0.5.2"), source: "/etc/x/br0.5" },
    ]);
    expect(interfaces).toEqual([]);
    expect(warnings.map((w) => [w.id, w.interface])).toEqual([
      ["controller-not-carried", "br0"],
      ["controller-not-carried", "eth0"],
      ["vlan-parent-not-carried", "br0.5"],
    ]);
  });

  test("the same NIC or the same virtual name twice: the first wins, the other is named", () => {
    const root = rootWith({ "sys/class/net/ens3/address": "52:54:00:00:00:03\n" });
    const { interfaces, warnings } = resolveInterfaces(root, [
      nic("ens3", { ipv4: staticV4("10.0.0.3") }),
      nic("en*", { ipv4: { dhcp: true, addresses: [], routes: [] }, source: "/etc/systemd/network/99-dhcp.network" }),
      { name: "bond0", kind: "bond", activation: "boot", bond: { mode: "balance-rr" }, source: "a" },
      { name: "bond0", kind: "bond", activation: "boot", bond: { mode: "802.3ad" }, source: "b" },
    ]);
    expect(interfaces.map((i) => i.name)).toEqual(["ens3", "bond0"]);
    expect(interfaces[1]!.bond!.mode).toBe("balance-rr");
    expect(warnings.map((w) => [w.id, w.interface])).toEqual([
      ["duplicate-interface", "ens3"],
      ["duplicate-interface", "bond0"],
    ]);
  });

  test("a glob resolves to one NIC and references written with it follow; no MAC anywhere is refused by name", () => {
    const root = rootWith({ "sys/class/net/enp1s0/address": "52:54:00:00:00:05\n" });
    const { interfaces, warnings } = resolveInterfaces(root, [
      nic("enp*", { source: "/etc/systemd/network/10-uplink.network" }),
      { name: "vlan7", kind: "vlan", activation: "boot", vlan: { id: 7, parent: "enp*" }, ipv4: staticV4("10.7.0.2"), source: "/etc/systemd/network/vlan7.netdev" },
      nic("eth9"),
    ]);
    expect(interfaces.map((i) => [i.name, i.vlan?.parent])).toEqual([
      ["enp1s0", undefined],
      ["vlan7", "enp1s0"],
    ]);
    expect(warnings.map((w) => [w.id, w.interface])).toEqual([["interface-without-mac", "eth9"]]);
  });
  test("a networkd Name= list of several NICs binds each for the ports of a bond, and refuses them for an addressed NIC", () => {
    const root = rootWith({ "sys/class/net/enp1s0f0/address": "3c:fd:fe:00:00:01\n", "sys/class/net/enp1s0f1/address": "3c:fd:fe:00:00:02\n" });
    const ports = resolveInterfaces(root, [
      nic("enp1s0f0 enp1s0f1", { controller: "bond0", source: "/etc/systemd/network/30-ports.network" }),
      { name: "bond0", kind: "bond", activation: "boot", bond: { mode: "802.3ad" }, source: "/etc/systemd/network/10-bond0.netdev" },
    ]);
    expect(ports.interfaces.map((i) => [i.name, i.mac, i.controller])).toEqual([
      ["enp1s0f0", "3c:fd:fe:00:00:01", "bond0"],
      ["enp1s0f1", "3c:fd:fe:00:00:02", "bond0"],
      ["bond0", undefined, undefined],
    ]);
    const addressed = resolveInterfaces(root, [nic("enp1s0f*", { ipv4: staticV4("10.0.0.9") })]);
    expect(addressed.warnings.map((w) => w.id)).toEqual(["interface-ambiguous"]);
  });
});

describe("effective DNS", () => {
  test("resolv.conf wins when it differs from the files, naming both; IPv6 servers are carried", () => {
    const root = rootWith({ "etc/resolv.conf": "search example.com\nnameserver 9.9.9.9\nnameserver 2620:fe::fe\n" });
    const { dns, warnings } = effectiveDns(root, { servers: ["8.8.8.8"], search: ["example.com"] });
    expect(dns).toEqual({ servers: ["9.9.9.9", "2620:fe::fe"], search: ["example.com"] });
    expect(warnings.map((w) => w.id)).toEqual(["dns-differs"]);
    expect(warnings[0]!.message).toContain("8.8.8.8");
  });

  test("systemd-resolved's stub (a relative symlink) is replaced by its upstream list", () => {
    const root = rootWith({
      "run/systemd/resolve/stub-resolv.conf": "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n",
      "run/systemd/resolve/resolv.conf": "nameserver 192.168.1.1\nsearch lan\n",
      "etc/hostname": "box\n",
    });
    symlinkSync("../run/systemd/resolve/stub-resolv.conf", join(root, "etc/resolv.conf"));
    expect(effectiveDns(root, { servers: [], search: [] })).toEqual({ dns: { servers: ["192.168.1.1"], search: ["lan"] }, warnings: [] });
  });

  test("a stub without its upstream list (a stopped root): the files' servers, and said so", () => {
    const root = rootWith({ "etc/resolv.conf": "nameserver 127.0.0.1\n" });
    const { dns, warnings } = effectiveDns(root, { servers: ["10.0.0.53"], search: [] });
    expect(dns.servers).toEqual(["10.0.0.53"]);
    expect(warnings.map((w) => w.id)).toEqual(["dns-local-stub"]);
  });

  test("no resolv.conf: the files' servers; the same servers in another order: resolv.conf's order, no warning", () => {
    expect(effectiveDns(rootWith({}), { servers: ["1.1.1.1"], search: [] }).dns.servers).toEqual(["1.1.1.1"]);
    const same = effectiveDns(rootWith({ "etc/resolv.conf": "nameserver 2.2.2.2\nnameserver 1.1.1.1\n" }), { servers: ["1.1.1.1", "2.2.2.2"], search: [] });
    expect(same).toEqual({ dns: { servers: ["2.2.2.2", "1.1.1.1"], search: [] }, warnings: [] });
  });
});

describe("network meaning", () => {
  test("names do not matter: a renamed NIC and bond mean the same; the default route as gateway or as a route to 0/0 too", () => {
    const a: CapturedInterface[] = [
      { name: "eth0", kind: "ethernet", mac: "52:54:00:00:00:01", activation: "boot", controller: "bond0" },
      { name: "bond0", kind: "bond", activation: "boot", bond: { mode: "active-backup", primary: "eth0" }, ipv4: staticV4("10.0.0.2", "10.0.0.1") },
    ];
    const b: CapturedInterface[] = [
      { name: "ens3", kind: "ethernet", mac: "52:54:00:00:00:01", activation: "boot", controller: "uplink" },
      { name: "uplink", kind: "bond", activation: "boot", bond: { mode: "active-backup", primary: "ens3" }, ipv4: { dhcp: false, addresses: [{ address: "10.0.0.2", prefix: 24 }], routes: [{ to: "0.0.0.0/0", via: "10.0.0.1" }] } },
    ];
    const dns = { servers: ["2001:DB8:0:0::53"], search: [] };
    expect(networkMeaning({ interfaces: a, dns })).toEqual(networkMeaning({ interfaces: b, dns }));
    expect(networkMeaning({ interfaces: a, dns })).toEqual({
      up: [
        { binding: "bond(mode=active-backup,miimon=100,primary=mac(52:54:00:00:00:01);ports=[mac(52:54:00:00:00:01)])", ipv4: { dhcp: false, addresses: ["10.0.0.2/24"], defaultRoutes: ["via 10.0.0.1"], routes: [] } },
        { binding: "mac(52:54:00:00:00:01)", portOf: "bond(mode=active-backup,miimon=100,primary=mac(52:54:00:00:00:01);ports=[mac(52:54:00:00:00:01)])" },
      ],
      down: [],
      dns: { servers: ["2001:db8::53"], search: [] },
    });
  });

  test("a manual interface is down with its binding only; an empty family is no family; metrics and route options count", () => {
    const meaning = networkMeaning({
      interfaces: [
        { name: "eth1", kind: "ethernet", mac: "52:54:00:00:00:02", activation: "manual", ipv4: staticV4("10.1.0.2") },
        { name: "eth0", kind: "ethernet", mac: "52:54:00:00:00:01", activation: "boot", mtu: 9000, ipv4: { dhcp: false, addresses: [{ address: "10.0.0.2", prefix: 24 }], gateway: { via: "10.0.0.1", metric: 100 }, routes: [{ to: "10.8.0.0/16", via: "10.0.0.254", table: 5, metric: 20 }] }, ipv6: { autoconf: false, dhcp: false, addresses: [], routes: [] } },
      ],
      dns: { servers: [], search: ["example.com"] },
    });
    expect(meaning.down).toEqual(["mac(52:54:00:00:00:02)"]);
    expect(meaning.up).toEqual([{ binding: "mac(52:54:00:00:00:01)", mtu: 9000, ipv4: { dhcp: false, addresses: ["10.0.0.2/24"], defaultRoutes: ["via 10.0.0.1 metric 100"], routes: ["10.8.0.0/16 via 10.0.0.254 metric 20 table 5"] } }]);
  });

  test("IPv6 addresses in one notation", () => {
    expect(canonicalAddress("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1");
    expect(canonicalAddress("2001:db8:0:1:0:0:0:1")).toBe("2001:db8:0:1::1");
    expect(canonicalAddress("::ffff:192.0.2.1")).toBe("::ffff:c000:201");
    expect(canonicalAddress("fe80::")).toBe("fe80::");
    expect(canonicalAddress("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2:3:4:5:6");
  });
});
