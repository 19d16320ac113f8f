import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { captureNmKeyfiles, nmLoadsKeyfileName } from "../../agent/carry-over/capture-nm-keyfile.ts";
import type { CapturedConfig, CapturedInterface } from "../../agent/carry-over/captured-config.ts";
import { parseCapturedConfig } from "../../agent/carry-over/captured-config.ts";
import type { FoundInterface } from "../../agent/carry-over/network-findings.ts";
import { keyfileList, keyfileString } from "../../agent/carry-over/nm-keyfile.ts";
import { renderNetworkManager } from "../../agent/carry-over/render-networkmanager.ts";
import { writeRenderedFile } from "../../agent/carry-over/rendered-file.ts";

const ETC = "/etc/NetworkManager/system-connections";

type FileSpec = string | { content: string; mode?: number; mtime?: number };

/** A fixture tree: keyfiles are 0600 as NetworkManager requires, unless a test says otherwise. */
function rootWith(files: Record<string, FileSpec>, nics: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), "va-nm-"));
  for (const [path, spec] of Object.entries(files)) {
    const { content, mode = 0o600, mtime } = typeof spec === "string" ? { content: spec } : spec;
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content, { mode });
    if (mtime !== undefined) utimesSync(full, mtime, mtime);
  }
  for (const [name, mac] of Object.entries(nics)) {
    mkdirSync(join(root, "sys/class/net", name), { recursive: true });
    writeFileSync(join(root, "sys/class/net", name, "address"), `${mac}\n`);
  }
  return root;
}

const lines = (...text: string[]) => `${text.join("\n")}\n`;
const byName = (a: { name?: string; mac?: string }, b: { name?: string; mac?: string }) => ((a.name ?? a.mac!) < (b.name ?? b.mac!) ? -1 : 1);
const ids = (warnings: { id: string }[]) => warnings.map((w) => w.id);

// nmcli on RHEL 9: `nmcli connection add type ethernet con-name enp1s0 ifname enp1s0 ipv4.method manual
// ipv4.addresses 192.0.2.10/24 ipv4.gateway 192.0.2.1 ipv4.dns "192.0.2.53 198.51.100.53" ipv4.dns-search example.com`
const NMCLI_STATIC = lines(
  "[connection]",
  "id=enp1s0",
  "uuid=0c3a4e7f-3b0e-4d6c-9a53-6f2d1d9c1a01",
  "type=ethernet",
  "interface-name=enp1s0",
  "timestamp=1712345678",
  "",
  "[ethernet]",
  "",
  "[ipv4]",
  "address1=192.0.2.10/24",
  "dns=192.0.2.53;198.51.100.53;",
  "dns-search=example.com;",
  "gateway=192.0.2.1",
  "method=manual",
  "",
  "[ipv6]",
  "addr-gen-mode=default",
  "method=auto",
  "",
  "[proxy]",
);

// anaconda (RHEL 9 kickstart `network --bootproto=static --ip=10.0.0.5 --netmask=255.255.255.0 --gateway=10.0.0.1 --nameserver=10.0.0.2`)
const ANACONDA_STATIC = lines(
  "[connection]",
  "id=enp1s0",
  "uuid=5f1c2b3a-8a9d-4f0e-b1c2-d3e4f5a6b7c8",
  "type=ethernet",
  "interface-name=enp1s0",
  "",
  "[ethernet]",
  "mac-address=52:54:00:12:34:56",
  "",
  "[ipv4]",
  "address1=10.0.0.5/24,10.0.0.1",
  "dns=10.0.0.2;",
  "method=manual",
  "",
  "[ipv6]",
  "addr-gen-mode=eui64",
  "method=auto",
  "",
  "[proxy]",
);

describe("NetworkManager keyfiles as written by nmcli, anaconda and cloud-init", () => {
  test("nmcli static profile: interface-name binding, gateway key, DNS; addr-gen-mode=default is named (stable-privacy SLAAC)", () => {
    const findings = captureNmKeyfiles(rootWith({ [`${ETC}/enp1s0.nmconnection`]: NMCLI_STATIC }));
    expect(findings.interfaces).toEqual([
      {
        name: "enp1s0",
        kind: "ethernet",
        activation: "boot",
        ipv4: { dhcp: false, addresses: [{ address: "192.0.2.10", prefix: 24 }], gateway: { via: "192.0.2.1" }, routes: [] },
        ipv6: { autoconf: true, dhcp: false, addresses: [], routes: [] },
        source: `${ETC}/enp1s0.nmconnection`,
      },
    ]);
    expect(findings.dns).toEqual({ servers: ["192.0.2.53", "198.51.100.53"], search: ["example.com"] });
    expect(findings.warnings).toEqual([
      {
        id: "ipv6-address-form",
        message: `not carried: enp1s0 from ${ETC}/enp1s0.nmconnection: [ipv6] addr-gen-mode=default, the new system forms its SLAAC address from the MAC (EUI-64), a different address`,
        interface: "enp1s0",
      },
    ]);
  });

  test("anaconda static profile: mac-address and the gateway inside address1, EUI-64 SLAAC, no warning", () => {
    const findings = captureNmKeyfiles(rootWith({ [`${ETC}/enp1s0.nmconnection`]: ANACONDA_STATIC }));
    expect(findings.interfaces[0]).toMatchObject({
      name: "enp1s0",
      mac: "52:54:00:12:34:56",
      ipv4: { dhcp: false, addresses: [{ address: "10.0.0.5", prefix: 24 }], gateway: { via: "10.0.0.1" }, routes: [] },
    });
    expect(findings.warnings).toEqual([]);
  });

  test("cloud-init's NetworkManager renderer: bond ports by master=UUID, VLAN parent by UUID, default route as route1, [user] origin", () => {
    const header = "# Generated by cloud-init. Changes will be lost.\n\n";
    const port = (name: string, uuid: string, mac: string) =>
      header +
      lines(
        "[connection]",
        `id=cloud-init ${name}`,
        `uuid=${uuid}`,
        "autoconnect-priority=120",
        "type=ethernet",
        "slave-type=bond",
        "master=54317911-f840-516b-a10d-82cb4c1f075c",
        "",
        "[user]",
        "org.freedesktop.NetworkManager.origin=cloud-init",
        "",
        "[ethernet]",
        "mtu=9000",
        `mac-address=${mac}`,
      );
    const findings = captureNmKeyfiles(
      rootWith({
        [`${ETC}/cloud-init-ens1f0np0.nmconnection`]: port("ens1f0np0", "99c4bf6c-1691-53c4-bfe8-abdcb90b278a", "0C:42:A1:00:00:10"),
        [`${ETC}/cloud-init-ens1f1np1.nmconnection`]: port("ens1f1np1", "2685ec2b-1c26-583d-a660-0ab24201fef3", "0C:42:A1:00:00:11"),
        [`${ETC}/cloud-init-bond0.nmconnection`]:
          header +
          lines(
            "[connection]",
            "id=cloud-init bond0",
            "uuid=54317911-f840-516b-a10d-82cb4c1f075c",
            "autoconnect-priority=120",
            "type=bond",
            "interface-name=bond0",
            "",
            "[user]",
            "org.freedesktop.NetworkManager.origin=cloud-init",
            "",
            "[bond]",
            "mode=802.3ad",
            "miimon=100",
            "xmit_hash_policy=layer3+4",
            "",
            "[ethernet]",
            "mtu=9000",
          ),
        [`${ETC}/cloud-init-bond0.123.nmconnection`]:
          header +
          lines(
            "[connection]",
            "id=cloud-init bond0.123",
            "uuid=7541e7a5-450b-570b-b3e8-a7f9eced114a",
            "autoconnect-priority=120",
            "type=vlan",
            "interface-name=bond0.123",
            "",
            "[user]",
            "org.freedesktop.NetworkManager.origin=cloud-init",
            "",
            "[vlan]",
            "id=123",
            "parent=54317911-f840-516b-a10d-82cb4c1f075c",
            "",
            "[ipv4]",
            "method=manual",
            "may-fail=false",
            "address1=203.0.113.20/24",
            "route1=0.0.0.0/0,203.0.113.1",
            "dns=1.1.1.1;",
            "dns-search=hostname1;",
          ),
      }),
    );
    const byName = Object.fromEntries(findings.interfaces.map((i) => [i.name ?? i.mac, i]));
    expect(byName["0c:42:a1:00:00:10"]).toMatchObject({ kind: "ethernet", mac: "0c:42:a1:00:00:10", controller: "bond0", mtu: 9000 });
    expect(byName["0c:42:a1:00:00:10"]!.ipv4).toBeUndefined();
    // No [ipv4]/[ipv6] in a non-port profile is NetworkManager's `auto`: DHCP and SLAAC on bond0.
    expect(byName.bond0).toMatchObject({ kind: "bond", mtu: 9000, bond: { mode: "802.3ad", miimon: 100, xmitHashPolicy: "layer3+4" }, ipv4: { dhcp: true }, ipv6: { autoconf: true } });
    expect(byName["bond0.123"]).toMatchObject({
      kind: "vlan",
      vlan: { id: 123, parent: "bond0" },
      ipv4: { dhcp: false, addresses: [{ address: "203.0.113.20", prefix: 24 }], routes: [{ to: "0.0.0.0/0", via: "203.0.113.1" }] },
    });
    expect(findings.dns).toEqual({ servers: ["1.1.1.1"], search: ["hostname1"] });
    expect(findings.warnings).toEqual([]);
  });
});

describe("bonds, bridges and VLANs as the RHEL 8/9 networking guides build them with nmcli", () => {
  // `nmcli connection add type bond con-name bond0 ifname bond0 bond.options "mode=802.3ad,miimon=100,lacp_rate=fast,xmit_hash_policy=layer2+3"`
  // and ports `nmcli connection add type ethernet port-type bond con-name bond0-port1 ifname enp7s0 controller bond0` (NetworkManager 1.46 keys)
  const LACP = {
    [`${ETC}/bond0.nmconnection`]: lines(
      "[connection]",
      "id=bond0",
      "uuid=a1b2c3d4-0000-4000-8000-000000000001",
      "type=bond",
      "interface-name=bond0",
      "",
      "[ethernet]",
      "cloned-mac-address=52:54:00:AA:BB:01",
      "",
      "[bond]",
      "downdelay=200",
      "lacp_rate=fast",
      "miimon=100",
      "mode=802.3ad",
      "primary=enp7s0",
      "updelay=200",
      "xmit_hash_policy=layer2+3",
      "",
      "[ipv4]",
      "address1=192.0.2.1/24",
      "gateway=192.0.2.254",
      "method=manual",
      "",
      "[ipv6]",
      "addr-gen-mode=eui64",
      "method=disabled",
    ),
    [`${ETC}/bond0-port1.nmconnection`]: lines("[connection]", "id=bond0-port1", "uuid=a1b2c3d4-0000-4000-8000-000000000002", "type=ethernet", "controller=bond0", "interface-name=enp7s0", "port-type=bond", "", "[ethernet]", "", "[bond-port]"),
    [`${ETC}/bond0-port2.nmconnection`]: lines("[connection]", "id=bond0-port2", "uuid=a1b2c3d4-0000-4000-8000-000000000003", "type=ethernet", "controller=bond0", "interface-name=enp8s0", "port-type=bond", "", "[ethernet]"),
  };

  test("LACP bond: every carried option, cloned MAC as the bond's MAC, ports by controller name, IPv6 disabled", () => {
    const findings = captureNmKeyfiles(rootWith(LACP));
    expect(findings.interfaces.map(({ source: _, ...i }) => i).sort(byName)).toEqual([
      {
        name: "bond0",
        kind: "bond",
        mac: "52:54:00:aa:bb:01",
        activation: "boot",
        bond: { mode: "802.3ad", miimon: 100, updelay: 200, downdelay: 200, lacpRate: "fast", xmitHashPolicy: "layer2+3", primary: "enp7s0" },
        ipv4: { dhcp: false, addresses: [{ address: "192.0.2.1", prefix: 24 }], gateway: { via: "192.0.2.254" }, routes: [] },
      },
      { name: "enp7s0", kind: "ethernet", activation: "boot", controller: "bond0" },
      { name: "enp8s0", kind: "ethernet", activation: "boot", controller: "bond0" },
    ]);
    expect(findings.warnings).toEqual([]);
  });

  test("bond options other than the carried ones are named; NetworkManager's miimon default 100 is made explicit", () => {
    const findings = captureNmKeyfiles(
      rootWith({ [`${ETC}/bond1.nmconnection`]: lines("[connection]", "id=bond1", "uuid=b0000000-0000-4000-8000-000000000001", "type=bond", "interface-name=bond1", "", "[bond]", "mode=1", "arp_validate=all", "", "[ipv4]", "method=auto") }),
    );
    expect(findings.interfaces[0]!.bond).toEqual({ mode: "active-backup", miimon: 100 });
    expect(findings.warnings).toContainEqual({ id: "nm-setting-not-carried", message: `not carried: bond1 from ${ETC}/bond1.nmconnection: [bond] arp_validate=all`, interface: "bond1" });
  });

  // RHEL 8 guide: `nmcli connection add type bridge con-name bridge0 ifname bridge0` and
  // `nmcli connection add type ethernet slave-type bridge con-name bridge0-port1 ifname enp7s0 master bridge0`
  test("bridge with legacy master=/slave-type= ports, STP off and forward-delay; bridge-port defaults are no warning", () => {
    const findings = captureNmKeyfiles(
      rootWith({
        [`${ETC}/bridge0.nmconnection`]: lines("[connection]", "id=bridge0", "uuid=c0000000-0000-4000-8000-000000000001", "type=bridge", "interface-name=bridge0", "", "[bridge]", "forward-delay=4", "stp=false", "", "[ipv4]", "method=auto", "", "[ipv6]", "method=ignore"),
        [`${ETC}/bridge0-port1.nmconnection`]: lines("[connection]", "id=bridge0-port1", "uuid=c0000000-0000-4000-8000-000000000002", "type=ethernet", "interface-name=enp7s0", "master=bridge0", "slave-type=bridge", "", "[ethernet]", "", "[bridge-port]", "priority=32"),
      }),
    );
    expect(findings.interfaces.map(({ source: _, ...i }) => i).sort(byName)).toEqual([
      { name: "bridge0", kind: "bridge", activation: "boot", bridge: { stp: false, forwardDelay: 4 }, ipv4: { dhcp: true, addresses: [], routes: [] } },
      { name: "enp7s0", kind: "ethernet", activation: "boot", controller: "bridge0" },
    ]);
    expect(findings.warnings).toEqual([]);
  });

  test("a bridge without stp= has STP on (NetworkManager's default)", () => {
    const findings = captureNmKeyfiles(rootWith({ [`${ETC}/br0.nmconnection`]: lines("[connection]", "id=br0", "uuid=c1000000-0000-4000-8000-000000000001", "type=bridge", "interface-name=br0") }));
    expect(findings.interfaces[0]!.bridge).toEqual({ stp: true });
  });

  // RHEL 9 guide: `nmcli connection add type vlan con-name vlan10 ifname vlan10 vlan.parent enp1s0 vlan.id 10`
  test("VLAN by parent name; a VLAN without interface-name gets NetworkManager's PARENT.ID name; a MAC-only parent is named by /sys/class/net", () => {
    const findings = captureNmKeyfiles(
      rootWith(
        {
          [`${ETC}/vlan10.nmconnection`]: lines("[connection]", "id=vlan10", "uuid=d0000000-0000-4000-8000-000000000001", "type=vlan", "interface-name=vlan10", "", "[vlan]", "flags=1", "id=10", "parent=enp1s0", "", "[ipv4]", "address1=198.51.100.5/24", "method=manual", "", "[ipv6]", "method=disabled"),
          [`${ETC}/uplink.nmconnection`]: lines("[connection]", "id=uplink", "uuid=d0000000-0000-4000-8000-000000000002", "type=ethernet", "", "[ethernet]", "mac-address=52:54:00:00:00:20", "", "[ipv4]", "method=disabled", "", "[ipv6]", "method=disabled"),
          [`${ETC}/vlan20.nmconnection`]: lines("[connection]", "id=vlan20", "uuid=d0000000-0000-4000-8000-000000000003", "type=vlan", "", "[vlan]", "id=20", "parent=d0000000-0000-4000-8000-000000000002", "", "[ipv4]", "method=auto", "", "[ipv6]", "method=disabled"),
        },
        { ens3: "52:54:00:00:00:20" },
      ),
    );
    expect(findings.interfaces.find((i) => i.name === "vlan10")!.vlan).toEqual({ id: 10, parent: "enp1s0" });
    expect(findings.interfaces.find((i) => i.kind === "vlan" && i.vlan!.id === 20)).toMatchObject({ name: "ens3.20", vlan: { id: 20, parent: "ens3" } });
    expect(findings.interfaces.find((i) => i.kind === "ethernet")).toMatchObject({ mac: "52:54:00:00:00:20", activation: "boot" });
    expect(findings.warnings).toEqual([]);
  });
});

describe("IPv4 and IPv6 settings", () => {
  const profile = (...body: string[]) => ({
    [`${ETC}/eth0.nmconnection`]: lines("[connection]", "id=eth0", "uuid=e0000000-0000-4000-8000-000000000001", "type=ethernet", "interface-name=eth0", "", ...body),
  });

  test("route1..N and the plural routes form, routeN_options, route-metric for the gateway and routes without one", () => {
    const findings = captureNmKeyfiles(
      rootWith(
        profile(
          "[ipv4]",
          "method=manual",
          "address1=192.168.10.5/24,192.168.10.1",
          "route-metric=50",
          "route1=10.10.0.0/16,192.168.10.254",
          "route2=10.20.0.0/16,192.168.10.253,7",
          "route2_options=onlink=true,src=192.168.10.5,table=100",
          "routes3=10.30.0.0/16,0.0.0.0,9",
          "route4=172.16.0.0/12",
          "route4_options=scope=253",
          "route5=198.18.0.0/15",
          "route5_options=type=blackhole",
        ),
      ),
    );
    expect(findings.interfaces[0]!.ipv4).toEqual({
      dhcp: false,
      addresses: [{ address: "192.168.10.5", prefix: 24 }],
      gateway: { via: "192.168.10.1", metric: 50 },
      routes: [
        { to: "10.10.0.0/16", via: "192.168.10.254", metric: 50 },
        { to: "10.20.0.0/16", via: "192.168.10.253", metric: 7, onlink: true, src: "192.168.10.5", table: 100 },
        { to: "10.30.0.0/16", metric: 9 },
        { to: "172.16.0.0/12", metric: 50, scope: "link" },
        { to: "198.18.0.0/15", metric: 50, type: "blackhole" },
      ],
    });
  });

  test("the old list form addresses1=ADDR;PLEN;GW; and old routes, type=802-3-ethernet, [802-3-ethernet] and a decimal MAC (NetworkManager 0.9 / EL7 keyfiles)", () => {
    const findings = captureNmKeyfiles(
      rootWith({
        [`${ETC}/Wired connection 1`]: lines(
          "[connection]",
          "id=Wired connection 1",
          "uuid=4e80a56d-c99f-4aad-a6dd-b449bc398c57",
          "type=802-3-ethernet",
          "",
          "[802-3-ethernet]",
          "mac-address=0;17;34;51;68;85;",
          "",
          "[ipv4]",
          "method=manual",
          "dns=4.2.2.1;4.2.2.2;",
          "addresses1=192.168.0.5;24;192.168.0.1;",
          "addresses2=1.2.3.4;16;1.2.1.1;",
          "routes1=10.0.0.0;8;192.168.0.254;99;",
        ),
      }),
    );
    expect(findings.interfaces).toEqual([
      {
        kind: "ethernet",
        mac: "00:11:22:33:44:55",
        activation: "boot",
        ipv4: {
          dhcp: false,
          addresses: [
            { address: "192.168.0.5", prefix: 24 },
            { address: "1.2.3.4", prefix: 16 },
          ],
          gateway: { via: "192.168.0.1" },
          routes: [{ to: "10.0.0.0/8", via: "192.168.0.254", metric: 99 }],
        },
        ipv6: { autoconf: true, dhcp: false, addresses: [], routes: [] },
        source: `${ETC}/Wired connection 1`,
      },
    ]);
  });

  test("DHCP with never-default: no gateway; ignore-auto-dns is named; static DNS on a DHCP profile still counts", () => {
    const findings = captureNmKeyfiles(rootWith(profile("[ipv4]", "method=auto", "never-default=true", "ignore-auto-dns=true", "dns=10.1.1.1;", "", "[ipv6]", "method=ignore")));
    expect(findings.interfaces[0]!.ipv4).toEqual({ dhcp: true, neverDefault: true, addresses: [], routes: [] });
    expect(findings.interfaces[0]!.ipv6).toBeUndefined();
    expect(findings.dns.servers).toEqual(["10.1.1.1"]);
    expect(ids(findings.warnings)).toEqual(["nm-setting-not-carried"]);
  });

  test("static addresses next to DHCP (method=auto + address1) and a static gateway with never-default dropped", () => {
    const findings = captureNmKeyfiles(rootWith(profile("[ipv4]", "method=auto", "address1=10.9.9.9/32", "", "[ipv6]", "method=manual", "address1=2001:DB8::10/64", "gateway=2001:db8::1", "never-default=true")));
    expect(findings.interfaces[0]!.ipv4).toEqual({ dhcp: true, addresses: [{ address: "10.9.9.9", prefix: 32 }], routes: [] });
    expect(findings.interfaces[0]!.ipv6).toEqual({ autoconf: false, dhcp: false, addresses: [{ address: "2001:db8::10", prefix: 64 }], routes: [] });
  });

  test("IPv6 manual with the gateway in address1, a route with options, IPv6 name servers; IPv4 disabled", () => {
    const findings = captureNmKeyfiles(
      rootWith(
        profile(
          "[ipv4]",
          "method=disabled",
          "",
          "[ipv6]",
          "method=manual",
          "address1=2001:db8:0:1::5/64,2001:db8:0:1::1",
          "route1=2001:db8:99::/48,2001:db8:0:1::fe,300",
          "route1_options=table=200",
          "route-metric=1024",
          "dns=2001:4860:4860::8888;2001:4860:4860::8844;",
        ),
      ),
    );
    expect(findings.interfaces[0]!.ipv4).toBeUndefined();
    expect(findings.interfaces[0]!.ipv6).toEqual({
      autoconf: false,
      dhcp: false,
      addresses: [{ address: "2001:db8:0:1::5", prefix: 64 }],
      gateway: { via: "2001:db8:0:1::1", metric: 1024 },
      routes: [{ to: "2001:db8:99::/48", via: "2001:db8:0:1::fe", metric: 300, table: 200 }],
    });
    expect(findings.dns.servers).toEqual(["2001:4860:4860::8888", "2001:4860:4860::8844"]);
  });

  test("IPv6 methods: dhcp, link-local; ip6-privacy=2 with SLAAC is named", () => {
    const dhcp = captureNmKeyfiles(rootWith(profile("[ipv6]", "method=dhcp")));
    expect(dhcp.interfaces[0]!.ipv6).toEqual({ autoconf: false, dhcp: true, addresses: [], routes: [] });
    const linkLocal = captureNmKeyfiles(rootWith(profile("[ipv6]", "method=link-local")));
    expect(linkLocal.interfaces[0]!.ipv6).toEqual({ autoconf: false, dhcp: false, addresses: [], routes: [] });
    const privacy = captureNmKeyfiles(rootWith(profile("[ipv6]", "method=auto", "ip6-privacy=2")));
    expect(privacy.warnings.map((w) => w.message)).toEqual([`not carried: eth0 from ${ETC}/eth0.nmconnection: [ipv6] ip6-privacy=2 (temporary addresses)`]);
  });

  test("IPv4 link-local and shared are named and leave IPv4 out", () => {
    const findings = captureNmKeyfiles(rootWith(profile("[ipv4]", "method=shared", "", "[ipv6]", "method=disabled")));
    expect(findings.interfaces[0]!.ipv4).toBeUndefined();
    expect(findings.warnings).toEqual([{ id: "ipv4-method-not-carried", message: `not carried: eth0 from ${ETC}/eth0.nmconnection: [ipv4] method=shared (NAT and DHCP server for others)`, interface: "eth0" }]);
  });

  test("malformed addresses, gateways, routes and name servers are warnings naming file and key; the rest is carried", () => {
    const findings = captureNmKeyfiles(
      rootWith(
        profile(
          "[ipv4]",
          "method=manual",
          "address1=192.168.1.300/24",
          "address2=192.168.1.7/24",
          "gateway=fe80::1",
          "route1=10.0.0.0/8,not-an-ip",
          "route2=10.1.0.0/16,192.168.1.1",
          "route2_options=mtu=1400",
          "route3=10.2.0.0/16,192.168.1.1,x",
          "dns=8.8.8.8;dns.example;",
        ),
      ),
    );
    expect(findings.interfaces[0]!.ipv4).toEqual({ dhcp: false, addresses: [{ address: "192.168.1.7", prefix: 24 }], routes: [] });
    const where = `not carried: eth0 from ${ETC}/eth0.nmconnection: [ipv4]`;
    expect(findings.warnings.map((w) => w.message)).toEqual([
      `${where} address1=192.168.1.300/24: "192.168.1.300" is not an IPv4 address`,
      `${where} gateway=fe80::1: not an address of its family`,
      `${where} route1=10.0.0.0/8,not-an-ip: gateway "not-an-ip" is not an address of its family`,
      `${where} route2=10.1.0.0/16,192.168.1.1: option mtu=1400 is not carried`,
      `${where} route3=10.2.0.0/16,192.168.1.1,x: metric "x" is not a number`,
      `${where} dns dns.example`,
    ]);
  });

  test("profiles NetworkManager rejects are not carried: manual without address, a section without method", () => {
    const manual = captureNmKeyfiles(rootWith(profile("[ipv4]", "method=manual")));
    expect(manual.interfaces).toEqual([]);
    expect(manual.warnings).toEqual([{ id: "nm-profile-invalid", message: `not carried: eth0 from ${ETC}/eth0.nmconnection: NetworkManager rejects it: [ipv4] method=manual without an address`, interface: "eth0" }]);
    expect(ids(captureNmKeyfiles(rootWith(profile("[ipv6]", "addr-gen-mode=eui64"))).warnings)).toEqual(["nm-profile-invalid"]);
  });
});

describe("profiles, activation and what NetworkManager would not bring up", () => {
  test("autoconnect=false is manual activation; a disabled NIC keeps no family", () => {
    const findings = captureNmKeyfiles(
      rootWith({ [`${ETC}/spare.nmconnection`]: lines("[connection]", "id=spare", "uuid=f0000000-0000-4000-8000-000000000001", "type=ethernet", "autoconnect=false", "interface-name=eno2", "", "[ipv4]", "method=disabled", "", "[ipv6]", "method=disabled") }),
    );
    expect(findings.interfaces.map(({ source: _, ...i }) => i)).toEqual([{ name: "eno2", kind: "ethernet", activation: "manual" }]);
  });

  test("types not carried are named by interface and kind; loopback is silent", () => {
    const file = (name: string, ...body: string[]) => ({ [`${ETC}/${name}.nmconnection`]: lines("[connection]", `id=${name}`, `uuid=${crypto.randomUUID()}`, ...body) });
    const findings = captureNmKeyfiles(
      rootWith({
        ...file("HomeNet", "type=wifi", "interface-name=wlp2s0", "", "[wifi]", "mode=infrastructure", "ssid=HomeNet", "", "[wifi-security]", "key-mgmt=wpa-psk", "psk=secret"),
        ...file("wg0", "type=wireguard", "interface-name=wg0", "", "[wireguard]", "private-key=secret"),
        ...file("team0", "type=team", "interface-name=team0"),
        ...file("team0-port1", "type=ethernet", "interface-name=ens9", "master=team0", "slave-type=team"),
        ...file("dsl", "type=pppoe", "", "[pppoe]", "username=user"),
        ...file("ib0", "type=infiniband", "interface-name=ib0"),
        ...file("corp-8021x", "type=ethernet", "interface-name=eno1", "", "[802-1x]", "eap=peap;", "identity=alice"),
        ...file("lo", "type=loopback", "interface-name=lo"),
      }),
    );
    expect(findings.interfaces).toEqual([]);
    expect(findings.warnings.map((w) => [w.interface, w.message.replace(/^not carried: \S+ from \S+: /, "")])).toEqual([
      ["wlp2s0", "a wifi connection; configure it on the new system by hand"],
      ["eno1", "uses 802.1X authentication ([802-1x]); configure it on the new system by hand"],
      [undefined, "a pppoe connection; configure it on the new system by hand"],
      ["ib0", "a infiniband connection; configure it on the new system by hand"],
      ["ens9", "a port of a team; configure it on the new system by hand"],
      ["team0", "a team connection; configure it on the new system by hand"],
      ["wg0", "a wireguard connection; configure it on the new system by hand"],
    ]);
  });

  test("two profiles for one NIC: the one NetworkManager brings up (autoconnect-priority, then last used) is carried, the other named", () => {
    const findings = captureNmKeyfiles(
      rootWith({
        [`${ETC}/Wired connection 1.nmconnection`]: lines("[connection]", "id=Wired connection 1", "uuid=f1000000-0000-4000-8000-000000000001", "type=ethernet", "autoconnect-priority=-999", "interface-name=enp1s0", "timestamp=1800000000"),
        [`${ETC}/enp1s0.nmconnection`]: NMCLI_STATIC,
      }),
    );
    expect(findings.interfaces).toHaveLength(1);
    expect(findings.interfaces[0]!.source).toBe(`${ETC}/enp1s0.nmconnection`);
    expect(findings.warnings).toContainEqual({
      id: "nm-profile-shadowed",
      message: `not carried: enp1s0 from ${ETC}/Wired connection 1.nmconnection: ${ETC}/enp1s0.nmconnection configures the same device and is the one NetworkManager brings up`,
      interface: "enp1s0",
    });
  });

  test("a port whose controller is not carried is not carried either; an unknown controller UUID too", () => {
    const findings = captureNmKeyfiles(
      rootWith({
        [`${ETC}/port.nmconnection`]: lines("[connection]", "id=port", "uuid=f2000000-0000-4000-8000-000000000001", "type=ethernet", "interface-name=ens10", "master=f2000000-0000-4000-8000-0000000000ff", "slave-type=bond"),
        [`${ETC}/vlan.nmconnection`]: lines("[connection]", "id=vlan", "uuid=f2000000-0000-4000-8000-000000000002", "type=vlan", "interface-name=wifi.5", "", "[vlan]", "id=5", "parent=f2000000-0000-4000-8000-000000000003", "", "[ipv4]", "method=auto"),
        [`${ETC}/wifi.nmconnection`]: lines("[connection]", "id=wifi", "uuid=f2000000-0000-4000-8000-000000000003", "type=wifi", "interface-name=wlan0"),
      }),
    );
    expect(findings.interfaces).toEqual([]);
    expect(findings.warnings.filter((w) => w.id === "nm-reference-not-carried").map((w) => w.message)).toEqual([
      `not carried: ens10 from ${ETC}/port.nmconnection: its controller f2000000-0000-4000-8000-0000000000ff is no profile's UUID`,
      `not carried: wifi.5 from ${ETC}/vlan.nmconnection: its parent f2000000-0000-4000-8000-000000000003 is a profile that is not carried`,
    ]);
  });

  test("settings without a place in the model are named in one warning: ethtool, firewalld zone, forced speed, a changed MAC", () => {
    const findings = captureNmKeyfiles(
      rootWith({
        [`${ETC}/eth0.nmconnection`]: lines(
          "[connection]",
          "id=eth0",
          "uuid=f3000000-0000-4000-8000-000000000001",
          "type=ethernet",
          "interface-name=eth0",
          "zone=internal",
          "",
          "[ethernet]",
          "auto-negotiate=false",
          "speed=1000",
          "duplex=full",
          "cloned-mac-address=random",
          "",
          "[ethtool]",
          "feature-tso=false",
        ),
      }),
    );
    expect(findings.interfaces).toHaveLength(1);
    expect(findings.warnings).toEqual([
      {
        id: "nm-setting-not-carried",
        message: `not carried: eth0 from ${ETC}/eth0.nmconnection: [ethernet] cloned-mac-address=random, [connection] zone=internal, [ethernet] auto-negotiate=false, [ethernet] speed=1000, [ethtool]`,
        interface: "eth0",
      },
    ]);
  });

  test("escaped keyfile values: \\s and \\; in strings and lists; comments are skipped", () => {
    expect(keyfileString("\\sOffice\\tLAN\\\\")).toBe(" Office\tLAN\\");
    expect(keyfileList("corp.example;odd\\;name;;")).toEqual(["corp.example", "odd;name"]);
    const findings = captureNmKeyfiles(
      rootWith({ [`${ETC}/office.nmconnection`]: lines("# written by hand", "[connection]", "id=\\sOffice LAN", "uuid=f4000000-0000-4000-8000-000000000001", "type=ethernet", "interface-name=eth0", "# static", "[ipv4]", "method=auto", "dns-search=corp.example;lab.example;") }),
    );
    expect(findings.dns.search).toEqual(["corp.example", "lab.example"]);
  });
});

describe("which files NetworkManager reads", () => {
  test("in /etc legacy names without .nmconnection too; hidden, backup (~), mkstemp temporaries, .nmmeta and certificates never; .bak/.orig/.rej are read", () => {
    const read = ["eth0.nmconnection", "Wired connection 1", "eth0.nmconnection.bak", "eth0.orig", "eth0.rej", "office"];
    const ignored = [".eth0.nmconnection.swp", "Wired connection 1~", "eth0.nmconnection.Ab3xYz", "a1b2.nmmeta", "client.pem", "ca.DER", ".hidden"];
    expect(read.filter((name) => nmLoadsKeyfileName(name))).toEqual(read);
    expect(ignored.filter((name) => nmLoadsKeyfileName(name))).toEqual([]);
    expect(nmLoadsKeyfileName("Wired connection 1", "/usr/lib/NetworkManager/system-connections")).toBe(false);
  });

  test("a keyfile readable by others is ignored by NetworkManager, so it is named and not carried", () => {
    const findings = captureNmKeyfiles(rootWith({ [`${ETC}/enp1s0.nmconnection`]: { content: ANACONDA_STATIC, mode: 0o644 } }));
    expect(findings.interfaces).toEqual([]);
    expect(findings.warnings).toEqual([{ id: "nm-keyfile-ignored", message: `not carried: ${ETC}/enp1s0.nmconnection: mode 0644, NetworkManager ignores keyfiles readable by others` }]);
  });

  test("one UUID in two files (a copy left as .bak): the newer file is the one NetworkManager uses", () => {
    const findings = captureNmKeyfiles(
      rootWith({
        [`${ETC}/enp1s0.nmconnection`]: { content: ANACONDA_STATIC, mtime: 2_000_000_000 },
        [`${ETC}/enp1s0.nmconnection.bak`]: { content: ANACONDA_STATIC.replace("10.0.0.5/24", "10.0.0.99/24"), mtime: 1_000_000_000 },
      }),
    );
    expect(findings.interfaces.map((i) => i.ipv4!.addresses)).toEqual([[{ address: "10.0.0.5", prefix: 24 }]]);
    expect(ids(findings.warnings)).toEqual(["nm-duplicate-uuid"]);
  });

  test("/usr/lib profiles count unless /etc shadows or deletes them; /run runtime profiles are named", () => {
    const LIB = "/usr/lib/NetworkManager/system-connections";
    const root = rootWith({
      [`${LIB}/image-default.nmconnection`]: lines("[connection]", "id=image-default", "uuid=aa000000-0000-4000-8000-000000000001", "type=ethernet", "interface-name=eth1"),
      [`${LIB}/deleted.nmconnection`]: lines("[connection]", "id=deleted", "uuid=aa000000-0000-4000-8000-000000000002", "type=ethernet", "interface-name=eth2"),
      [`/run/NetworkManager/system-connections/default_connection.nmconnection`]: lines("[connection]", "id=Wired Connection", "uuid=aa000000-0000-4000-8000-000000000003", "type=ethernet"),
    });
    mkdirSync(join(root, ETC), { recursive: true });
    symlinkSync("/dev/null", join(root, `${ETC.slice(1)}/aa000000-0000-4000-8000-000000000002.nmmeta`));
    const findings = captureNmKeyfiles(root);
    expect(findings.interfaces.map((i) => i.name)).toEqual(["eth1"]);
    expect(ids(findings.warnings)).toEqual(["nm-runtime-profile"]);
  });
});

/** The model → keyfiles → the same model (a NIC's name is the new system's business: it is bound by MAC). */
function roundTrip(interfaces: CapturedInterface[], dns = { servers: [] as string[], search: [] as string[] }) {
  const config: CapturedConfig = parseCapturedConfig({ format: 2, interfaces, dns, accounts: [], mounts: [], paths: [], warnings: [] });
  const rendered = renderNetworkManager(config);
  const root = mkdtempSync(join(tmpdir(), "va-nm-rt-"));
  for (const file of rendered) writeRenderedFile(root, file);
  for (const nic of interfaces.filter((i) => i.kind === "ethernet")) {
    mkdirSync(join(root, "sys/class/net", nic.name), { recursive: true });
    writeFileSync(join(root, "sys/class/net", nic.name, "address"), nic.mac!);
  }
  const findings = captureNmKeyfiles(root);
  const expected: FoundInterface[] = interfaces.map((item) => {
    const { name, ...rest } = item;
    return { ...(item.kind === "ethernet" ? {} : { name }), ...rest } as FoundInterface;
  });
  return { rendered, findings, expected, captured: findings.interfaces.map(({ source: _, ...i }) => i) };
}


describe("rendered keyfiles (EL9) and the round trip through the capture", () => {
  const STATIC: CapturedInterface = {
    name: "eth0",
    kind: "ethernet",
    mac: "52:54:00:aa:00:01",
    activation: "boot",
    mtu: 9000,
    ipv4: {
      dhcp: false,
      addresses: [
        { address: "192.168.50.10", prefix: 24 },
        { address: "192.168.51.10", prefix: 25 },
      ],
      gateway: { via: "192.168.50.1" },
      routes: [
        { to: "10.20.0.0/16", via: "192.168.50.254", metric: 100 },
        { to: "10.30.0.0/16", metric: 5, scope: "link" },
      ],
    },
  };

  test("plain static NIC: 0600, bound by mac-address without interface-name, IPv6 absent = disabled, DNS on it", () => {
    const { rendered, expected, captured, findings } = roundTrip([STATIC], { servers: ["192.168.50.2", "9.9.9.9"], search: ["corp.example"] });
    expect(rendered).toEqual([
      {
        path: `${ETC}/va-eth0.nmconnection`,
        mode: 0o600,
        content: lines(
          "[connection]",
          "id=va-eth0",
          "uuid=f3cdc1ba-1bd7-5206-9f50-c2721b71a5d5",
          "type=ethernet",
          "",
          "[ethernet]",
          "mac-address=52:54:00:AA:00:01",
          "mtu=9000",
          "",
          "[ipv4]",
          "method=manual",
          "address1=192.168.50.10/24",
          "address2=192.168.51.10/25",
          "gateway=192.168.50.1",
          "route1=10.20.0.0/16,192.168.50.254,100",
          "route2=10.30.0.0/16,0.0.0.0,5",
          "route2_options=scope=253",
          "dns=192.168.50.2;9.9.9.9;",
          "dns-search=corp.example;",
          "",
          "[ipv6]",
          "method=disabled",
          "",
        ),
      },
    ]);
    expect(captured).toEqual(expected);
    expect(findings.dns).toEqual({ servers: ["192.168.50.2", "9.9.9.9"], search: ["corp.example"] });
    expect(findings.warnings).toEqual([]);
  });

  test("dual stack with gateway metrics, route options, DHCP+static; IPv4 and IPv6 name servers in their own sections", () => {
    const nic: CapturedInterface = {
      name: "ens3",
      kind: "ethernet",
      mac: "52:54:00:aa:00:02",
      activation: "boot",
      ipv4: { dhcp: true, addresses: [{ address: "10.0.0.50", prefix: 24 }], gateway: { via: "10.0.0.1", metric: 20 }, routes: [{ to: "10.99.0.0/16", via: "10.0.0.254", metric: 20, table: 100, src: "10.0.0.50", onlink: true }] },
      ipv6: { autoconf: true, dhcp: false, addresses: [{ address: "2001:db8::50", prefix: 64 }], gateway: { via: "fe80::1", metric: 30 }, routes: [{ to: "2001:db8:aa::/48", via: "fe80::2", metric: 30 }] },
    };
    const { rendered, expected, captured, findings } = roundTrip([nic], { servers: ["10.0.0.2", "2001:db8::53"], search: ["example.net"] });
    expect(rendered[0]!.content).toContain(lines("[ipv6]", "method=auto", "addr-gen-mode=eui64", "address1=2001:db8::50/64", "gateway=fe80::1", "route-metric=30", "route1=2001:db8:aa::/48,fe80::2,30", "dns=2001:db8::53;"));
    expect(rendered[0]!.content).toContain("route1_options=onlink=true,src=10.0.0.50,table=100\ndns=10.0.0.2;\ndns-search=example.net;\n");
    expect(captured).toEqual(expected);
    expect(findings.dns).toEqual({ servers: ["10.0.0.2", "2001:db8::53"], search: ["example.net"] });
  });

  test("LACP bond with a VLAN on top carrying IPv4 and IPv6: ports by master=/slave-type= and MAC, the VLAN's parent by name", () => {
    const interfaces: CapturedInterface[] = [
      { name: "bond0", kind: "bond", mac: "52:54:00:bb:00:01", activation: "boot", mtu: 9000, bond: { mode: "802.3ad", miimon: 100, lacpRate: "fast", xmitHashPolicy: "layer3+4", updelay: 200, downdelay: 200, primary: "eno1" } },
      { name: "eno1", kind: "ethernet", mac: "52:54:00:bb:00:11", activation: "boot", mtu: 9000, controller: "bond0" },
      { name: "eno2", kind: "ethernet", mac: "52:54:00:bb:00:12", activation: "boot", mtu: 9000, controller: "bond0" },
      {
        name: "bond0.100",
        kind: "vlan",
        activation: "boot",
        vlan: { id: 100, parent: "bond0" },
        ipv4: { dhcp: false, addresses: [{ address: "198.51.100.10", prefix: 24 }], gateway: { via: "198.51.100.1" }, routes: [] },
        ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:100::10", prefix: 64 }], gateway: { via: "2001:db8:100::1" }, routes: [] },
      },
    ];
    const { rendered, expected, captured, findings } = roundTrip(interfaces);
    const bond = rendered.find((f) => f.path.endsWith("va-bond0.nmconnection"))!.content;
    expect(bond).toBe(
      lines(
        "[connection]",
        "id=va-bond0",
        bond.split("\n")[2]!,
        "type=bond",
        "interface-name=bond0",
        "",
        "[ethernet]",
        "cloned-mac-address=52:54:00:BB:00:01",
        "mtu=9000",
        "",
        "[bond]",
        "mode=802.3ad",
        "miimon=100",
        "updelay=200",
        "downdelay=200",
        "lacp_rate=fast",
        "xmit_hash_policy=layer3+4",
        "primary=eno1",
        "",
        "[ipv4]",
        "method=disabled",
        "",
        "[ipv6]",
        "method=disabled",
        "",
      ),
    );
    const port = rendered.find((f) => f.path.endsWith("va-eno1.nmconnection"))!.content;
    expect(port).toContain("master=bond0\nslave-type=bond\n");
    expect(port).not.toContain("[ipv4]");
    expect(rendered.find((f) => f.path.endsWith("va-bond0.100.nmconnection"))!.content).toContain("[vlan]\nid=100\nparent=bond0\n");
    expect(captured.sort(byName)).toEqual(expected.sort(byName));
    expect(findings.warnings).toEqual([]);
  });

  test("bridge with ports, a VLAN on a NIC (parent by the NIC profile's UUID), a disabled NIC, DHCP never-default", () => {
    const interfaces: CapturedInterface[] = [
      { name: "br0", kind: "bridge", activation: "boot", bridge: { stp: false, forwardDelay: 0 }, ipv4: { dhcp: true, addresses: [], routes: [] }, ipv6: { autoconf: true, dhcp: false, addresses: [], routes: [] } },
      { name: "enp1s0", kind: "ethernet", mac: "52:54:00:cc:00:01", activation: "boot", controller: "br0" },
      { name: "enp2s0", kind: "ethernet", mac: "52:54:00:cc:00:02", activation: "boot", ipv4: { dhcp: true, neverDefault: true, addresses: [], routes: [] } },
      { name: "enp2s0.30", kind: "vlan", activation: "boot", vlan: { id: 30, parent: "enp2s0" }, ipv6: { autoconf: false, dhcp: true, addresses: [], routes: [] } },
      { name: "enp3s0", kind: "ethernet", mac: "52:54:00:cc:00:03", activation: "manual" },
    ];
    const { rendered, expected, captured, findings } = roundTrip(interfaces);
    expect(rendered.find((f) => f.path.endsWith("va-enp3s0.nmconnection"))!.content).toContain("autoconnect=false\n");
    expect(rendered.find((f) => f.path.endsWith("va-enp2s0.30.nmconnection"))!.content).toMatch(/\[vlan\]\nid=30\nparent=[0-9a-f-]{36}\n/);
    expect(rendered.find((f) => f.path.endsWith("va-br0.nmconnection"))!.content).toContain("[bridge]\nstp=false\nforward-delay=0\n");
    expect(captured.sort(byName)).toEqual(expected.sort(byName));
    expect(findings.warnings).toEqual([]);
  });

  test("uuids are stable across renders and distinct per interface; a port of a controller outside the config gets no guessed slave-type", () => {
    const config = (interfaces: CapturedInterface[]) => parseCapturedConfig({ format: 2, interfaces, dns: { servers: [], search: [] }, accounts: [], mounts: [], paths: [], warnings: [] });
    const orphan: CapturedInterface = { name: "eth9", kind: "ethernet", mac: "52:54:00:aa:00:09", activation: "boot", controller: "bond7" };
    const first = renderNetworkManager(config([STATIC, orphan]));
    expect(renderNetworkManager(config([STATIC, orphan]))).toEqual(first);
    const uuids = first.map((file) => /uuid=(\S+)/.exec(file.content)![1]);
    expect(new Set(uuids).size).toBe(2);
    expect(first[1]!.content).toContain("master=bond7\n\n[ethernet]");
  });
});
