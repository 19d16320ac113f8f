import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { captureIfcfg } from "../../agent/carry-over/capture-ifcfg.ts";
import type { CapturedConfig, CapturedInterface } from "../../agent/carry-over/captured-config.ts";
import type { FoundInterface, NetworkFindings } from "../../agent/carry-over/network-findings.ts";
import { renderNetworkScripts } from "../../agent/carry-over/render-network-scripts.ts";
import { writeRenderedFile } from "../../agent/carry-over/rendered-file.ts";
import { parseShellVariables } from "../../agent/carry-over/shell-variables.ts";

const NS = "etc/sysconfig/network-scripts";
const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A fixture tree: paths relative to the root, file text as the system had it. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "va-ifcfg-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const lines = (...texts: string[]) => `${texts.join("\n")}\n`;
const capture = (files: Record<string, string>) => captureIfcfg(tree(files));
const byName = (findings: NetworkFindings, name: string) => findings.interfaces.find((i) => i.name === name);
const warningIds = (findings: NetworkFindings) => findings.warnings.map((w) => w.id);

describe("shell quoting of ifcfg values", () => {
  test("single, double and $'…' quotes, escapes, comments after the value, CRLF", () => {
    const vars = parseShellVariables(
      ["A='it''s'", 'B="say \\"hi\\" \\$HOME \\n"', "C=$'tab\\there'", "D=plain # comment", "E=back\\ slash", 'F="quoted" # trailing', "G=crlf\r", "export H=exported"].join("\r\n"),
    );
    expect(Object.fromEntries(vars)).toEqual({ A: "its", B: 'say "hi" $HOME \\n', C: "tab\there", D: "plain", E: "back slash", F: "quoted", G: "crlf", H: "exported" });
  });
});

describe("capture from EL network-scripts: real-world files", () => {
  test("CentOS 7 anaconda, static: quoted values, IPv6 autoconf, DNS, the privacy and address-generation keys", () => {
    const findings = capture({
      [`${NS}/ifcfg-eth0`]: lines(
        'TYPE="Ethernet"', 'PROXY_METHOD="none"', 'BROWSER_ONLY="no"', 'BOOTPROTO="none"', 'DEFROUTE="yes"', 'IPV4_FAILURE_FATAL="no"',
        'IPV6INIT="yes"', 'IPV6_AUTOCONF="yes"', 'IPV6_DEFROUTE="yes"', 'IPV6_FAILURE_FATAL="no"', 'IPV6_ADDR_GEN_MODE="stable-privacy"',
        'NAME="eth0"', 'UUID="5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03"', 'DEVICE="eth0"', 'ONBOOT="yes"', 'IPADDR="192.168.122.10"', 'PREFIX="24"',
        'GATEWAY="192.168.122.1"', 'DNS1="192.168.122.1"', 'DNS2="2001:4860:4860::8888"', 'DOMAIN="corp.example lab.example"', 'IPV6_PRIVACY="no"',
      ),
      [`${NS}/ifcfg-lo`]: lines("DEVICE=lo", "IPADDR=127.0.0.1", "NETMASK=255.0.0.0", "ONBOOT=yes", "NAME=loopback"),
    });
    expect(findings.interfaces).toEqual([
      {
        name: "eth0",
        kind: "ethernet",
        activation: "boot",
        source: `/${NS}/ifcfg-eth0`,
        ipv4: { dhcp: false, addresses: [{ address: "192.168.122.10", prefix: 24 }], gateway: { via: "192.168.122.1" }, routes: [] },
        ipv6: { autoconf: true, dhcp: false, addresses: [], routes: [] },
      },
    ]);
    expect(findings.dns).toEqual({ servers: ["192.168.122.1", "2001:4860:4860::8888"], search: ["corp.example", "lab.example"] });
    // stable-privacy SLAAC addresses differ from the EUI-64 ones a file without the key gets.
    expect(findings.warnings).toEqual([
      { id: "ifcfg-setting-not-carried", message: `not carried: IPV6_ADDR_GEN_MODE=stable-privacy of eth0 in /${NS}/ifcfg-eth0`, interface: "eth0" },
    ]);
  });

  test("a file edited on Windows (CRLF) reads like LF", () => {
    const findings = capture({ [`${NS}/ifcfg-eth0`]: "DEVICE=eth0\r\nBOOTPROTO=static\r\nIPADDR=10.1.2.3\r\nNETMASK=255.255.255.0\r\nONBOOT=yes\r\nIPV6INIT=no\r\n" });
    expect(byName(findings, "eth0")!.ipv4).toEqual({ dhcp: false, addresses: [{ address: "10.1.2.3", prefix: 24 }], routes: [] });
    expect(findings.warnings).toEqual([]);
  });

  test("RHEL 8 anaconda, DHCP, no HWADDR, IPv6 stays automatic; DEFROUTE=no makes it never-default", () => {
    const findings = capture({
      [`${NS}/ifcfg-ens3`]: lines("TYPE=Ethernet", "BOOTPROTO=dhcp", "DEFROUTE=yes", "IPV6INIT=yes", "IPV6_AUTOCONF=yes", "NAME=ens3", "DEVICE=ens3", "ONBOOT=yes"),
      [`${NS}/ifcfg-ens4`]: lines("TYPE=Ethernet", "BOOTPROTO=dhcp", "DEFROUTE=no", "IPV6INIT=yes", "IPV6_DEFROUTE=no", "NAME=ens4", "DEVICE=ens4", "ONBOOT=no", "GATEWAY=10.9.9.1"),
    });
    expect(byName(findings, "ens3")).toEqual({ name: "ens3", kind: "ethernet", activation: "boot", source: `/${NS}/ifcfg-ens3`, ipv4: { dhcp: true, addresses: [], routes: [] }, ipv6: { autoconf: true, dhcp: false, addresses: [], routes: [] } });
    // DEFROUTE=no: its GATEWAY is never a default route.
    expect(byName(findings, "ens4")).toEqual({
      name: "ens4",
      kind: "ethernet",
      activation: "manual",
      source: `/${NS}/ifcfg-ens4`,
      ipv4: { dhcp: true, neverDefault: true, addresses: [], routes: [] },
      ipv6: { autoconf: true, dhcp: false, neverDefault: true, addresses: [], routes: [] },
    });
  });

  test("cloud-init's sysconfig renderer: static IPv4 and IPv6, numbered route file with METRICn, route6 file, HWADDR", () => {
    const header = "# Created by cloud-init on instance boot automatically, do not edit.\n#";
    const findings = capture({
      [`${NS}/ifcfg-eth0`]: lines(
        header, "AUTOCONNECT_PRIORITY=120", "BOOTPROTO=none", "DEFROUTE=yes", "DEVICE=eth0", "GATEWAY=10.0.0.1", "HWADDR=FA:16:3E:12:34:56",
        "IPADDR=10.0.0.5", "IPV6ADDR=2001:db8:0:1::5/64", "IPV6INIT=yes", "IPV6_AUTOCONF=no", "IPV6_DEFAULTGW=2001:db8:0:1::1",
        "IPV6_FORCE_ACCEPT_RA=no", "NETMASK=255.255.255.0", "NM_CONTROLLED=no", "ONBOOT=yes", "STARTMODE=auto", "TYPE=Ethernet", "USERCTL=no", "MTU=9000",
      ),
      [`${NS}/route-eth0`]: lines(header, "ADDRESS0=172.16.0.0", "GATEWAY0=10.0.0.254", "METRIC0=100", "NETMASK0=255.240.0.0", "ADDRESS1=192.0.2.0", "NETMASK1=255.255.255.0", "GATEWAY1=10.0.0.253"),
      [`${NS}/route6-eth0`]: lines(header, "2001:db8:99::/48 via 2001:db8:0:1::fe dev eth0", "::/0 via 2001:db8:0:1::1 dev eth0 metric 1024"),
    });
    expect(findings.interfaces).toEqual([
      {
        name: "eth0",
        kind: "ethernet",
        mac: "fa:16:3e:12:34:56",
        activation: "boot",
        mtu: 9000,
        source: `/${NS}/ifcfg-eth0`,
        ipv4: {
          dhcp: false,
          addresses: [{ address: "10.0.0.5", prefix: 24 }],
          gateway: { via: "10.0.0.1" },
          routes: [
            { to: "172.16.0.0/12", via: "10.0.0.254", metric: 100 },
            { to: "192.0.2.0/24", via: "10.0.0.253" },
          ],
        },
        ipv6: {
          autoconf: false,
          dhcp: false,
          addresses: [{ address: "2001:db8:0:1::5", prefix: 64 }],
          gateway: { via: "2001:db8:0:1::1" },
          // the gateway is set already: the explicit default route stays a route of its own
          routes: [{ to: "2001:db8:99::/48", via: "2001:db8:0:1::fe" }, { to: "::/0", via: "2001:db8:0:1::1", metric: 1024 }],
        },
      },
    ]);
    expect(findings.warnings).toEqual([]);
  });

  test("Hetzner-style /32 with SCOPE=peer and a numbered 0.0.0.0/0 route; link-local IPv6 gateway with IPV6_DEFAULTDEV", () => {
    const findings = capture({
      [`${NS}/ifcfg-eth0`]: lines(
        "### Hetzner Online GmbH installimage", "", "DEVICE=eth0", "ONBOOT=yes", "BOOTPROTO=none", "IPADDR=192.0.2.10", "PREFIX=32",
        'SCOPE="peer 172.31.1.1"', "DEFROUTE=yes", "IPV6INIT=yes", "IPV6ADDR=2001:db8:1:2::2/64", "IPV6_DEFAULTGW=fe80::1", "IPV6_DEFAULTDEV=eth0",
      ),
      [`${NS}/route-eth0`]: lines("ADDRESS0=0.0.0.0", "NETMASK0=0.0.0.0", "GATEWAY0=172.31.1.1"),
    });
    expect(byName(findings, "eth0")!.ipv4).toEqual({
      dhcp: false,
      addresses: [{ address: "192.0.2.10", prefix: 32 }],
      gateway: { via: "172.31.1.1" },
      routes: [{ to: "172.31.1.1/32", scope: "link" }],
    });
    expect(byName(findings, "eth0")!.ipv6).toEqual({ autoconf: true, dhcp: false, addresses: [{ address: "2001:db8:1:2::2", prefix: 64 }], gateway: { via: "fe80::1" }, routes: [] });
    expect(findings.warnings).toEqual([]);
  });

  test("backups, package leftovers and swap files are not interfaces; ifcfg-lo is not either", () => {
    const eth0 = lines("DEVICE=eth0", "BOOTPROTO=dhcp", "IPV6INIT=no");
    const stale = lines("DEVICE=eth0", "BOOTPROTO=none", "IPADDR=10.0.0.99", "PREFIX=8");
    const findings = capture({
      [`${NS}/ifcfg-eth0`]: eth0,
      ...Object.fromEntries(["ifcfg-eth0.bak", "ifcfg-eth0~", "ifcfg-eth0.orig", "ifcfg-eth0.old", "ifcfg-eth0.rpmnew", "ifcfg-eth0.rpmsave", "ifcfg-eth0.rpmorig", "ifcfg-eth0.rej", "ifcfg-eth0.augnew", ".ifcfg-eth0.swp", "ifcfg-eth0;5f3a9c21"].map((n) => [`${NS}/${n}`, stale])),
      [`${NS}/ifcfg-lo`]: lines("DEVICE=lo", "IPADDR=127.0.0.1", "NETMASK=255.0.0.0"),
      [`${NS}/route-eth0.bak`]: lines("10.99.0.0/16 via 10.0.0.1"),
    });
    expect(findings.interfaces.map((i) => [i.name, i.ipv4])).toEqual([["eth0", { dhcp: true, addresses: [], routes: [] }]]);
    expect(findings.warnings).toEqual([]);
  });
});

describe("addresses and DNS", () => {
  test("IPADDRn with PREFIXn/NETMASKn, the class default, the numbering gap both tools stop at, invalid values warned", () => {
    const findings = capture({
      [`${NS}/ifcfg-eth0`]: lines(
        "DEVICE=eth0", "BOOTPROTO=none", "IPV6INIT=no", "IPADDR0=192.168.50.10", "PREFIX0=24", "IPADDR1=192.168.51.10", "NETMASK1=255.255.255.128",
        "IPADDR2=10.4.4.4", "IPADDR3=300.1.1.1", "PREFIX3=24", "IPADDR4=172.20.0.1", "NETMASK4=255.0.255.0", "IPADDR6=192.168.60.1", "PREFIX6=24",
        "DNS1=192.168.50.2", "DNS2=not-an-ip", "DNS10=9.9.9.9", "DNS3=2620:fe::fe",
      ),
    });
    expect(byName(findings, "eth0")!.ipv4!.addresses).toEqual([
      { address: "192.168.50.10", prefix: 24 },
      { address: "192.168.51.10", prefix: 25 },
      { address: "10.4.4.4", prefix: 8 },
    ]);
    expect(findings.dns.servers).toEqual(["192.168.50.2", "2620:fe::fe", "9.9.9.9"]);
    expect(findings.warnings.map((w) => w.message)).toEqual([
      `not carried: IPADDR6=192.168.60.1 of eth0 in /${NS}/ifcfg-eth0: it follows a gap in the numbering, neither initscripts nor NetworkManager applies it`,
      `not carried: IPADDR3=300.1.1.1 (PREFIX3/NETMASK3) of eth0 in /${NS}/ifcfg-eth0 is not an IPv4 address with a prefix`,
      `not carried: IPADDR4=172.20.0.1 (PREFIX4/NETMASK4) of eth0 in /${NS}/ifcfg-eth0 is not an IPv4 address with a prefix`,
      `not carried: DNS2=not-an-ip in /${NS}/ifcfg-eth0 is not an IP address`,
    ]);
  });

  test("IPv6: secondaries, DHCPv6, the autoconf default that IPV6FORWARDING=yes turns off, %dev on IPV6_DEFAULTGW, a bad address warned", () => {
    const findings = capture({
      "etc/sysconfig/network": lines("NETWORKING=yes", "IPV6FORWARDING=yes"),
      [`${NS}/ifcfg-eth0`]: lines("DEVICE=eth0", "BOOTPROTO=dhcp", "IPV6INIT=yes", "DHCPV6C=yes", 'IPV6ADDR="2001:db8::10/64"', 'IPV6ADDR_SECONDARIES="2001:db8::11 2001:db8:2::1/56 2001:db8::zz"', "IPV6_DEFAULTGW=2001:db8::1%eth0", "IPV6_ROUTE_METRIC=50"),
      [`${NS}/ifcfg-eth1`]: lines("DEVICE=eth1", "BOOTPROTO=none", "IPV6INIT=yes", "IPV6_AUTOCONF=yes", "IPV6_DEFAULTGW=2001:db8::1%eth0"),
    });
    expect(byName(findings, "eth0")!.ipv6).toEqual({
      autoconf: false,
      dhcp: true,
      addresses: [{ address: "2001:db8::10", prefix: 64 }, { address: "2001:db8::11", prefix: 64 }, { address: "2001:db8:2::1", prefix: 56 }],
      gateway: { via: "2001:db8::1", metric: 50 },
      routes: [],
    });
    expect(byName(findings, "eth1")!.ipv6).toEqual({ autoconf: true, dhcp: false, addresses: [], routes: [] });
    expect(warningIds(findings)).toEqual(["address-invalid", "gateway-not-carried"]);
  });
});

describe("gateways of /etc/sysconfig/network", () => {
  const eth = (name: string, address: string, extra: string[] = []) => lines(`DEVICE=${name}`, "BOOTPROTO=none", `IPADDR=${address}`, "PREFIX=24", "IPV6INIT=no", ...extra);

  test("GATEWAY goes to the interface on its subnet; the interface's METRIC applies", () => {
    const findings = capture({
      "etc/sysconfig/network": lines("NETWORKING=yes", "HOSTNAME=app01.corp.example", "GATEWAY=10.1.0.1"),
      [`${NS}/ifcfg-eth0`]: eth("eth0", "192.168.1.5"),
      [`${NS}/ifcfg-eth1`]: eth("eth1", "10.1.0.5", ["METRIC=300"]),
    });
    expect(byName(findings, "eth0")!.ipv4!.gateway).toBeUndefined();
    expect(byName(findings, "eth1")!.ipv4!.gateway).toEqual({ via: "10.1.0.1", metric: 300 });
    expect(findings.warnings).toEqual([]);
  });

  test("GATEWAYDEV picks the interface and takes every other interface's default route away (DHCP ones too)", () => {
    const findings = capture({
      "etc/sysconfig/network": lines("GATEWAY=10.1.0.1", "GATEWAYDEV=eth1"),
      [`${NS}/ifcfg-eth0`]: eth("eth0", "192.168.1.5", ["GATEWAY=192.168.1.1"]),
      [`${NS}/ifcfg-eth1`]: eth("eth1", "10.1.0.5"),
      [`${NS}/ifcfg-eth2`]: lines("DEVICE=eth2", "BOOTPROTO=dhcp", "IPV6INIT=no"),
    });
    expect(byName(findings, "eth0")!.ipv4!.gateway).toBeUndefined();
    expect(byName(findings, "eth1")!.ipv4!.gateway).toEqual({ via: "10.1.0.1" });
    expect(byName(findings, "eth2")!.ipv4).toEqual({ dhcp: true, neverDefault: true, addresses: [], routes: [] });
  });

  test("a GATEWAY on no interface's subnet is warned by name; DEFROUTE=no keeps it off that interface", () => {
    const nowhere = capture({ "etc/sysconfig/network": lines("GATEWAY=172.16.0.1"), [`${NS}/ifcfg-eth0`]: eth("eth0", "192.168.1.5") });
    expect(nowhere.warnings).toEqual([{ id: "gateway-not-carried", message: "not carried: GATEWAY=172.16.0.1 in /etc/sysconfig/network: no interface with static addresses here is on its subnet" }]);
    const defrouteNo = capture({ "etc/sysconfig/network": lines("GATEWAY=192.168.1.1"), [`${NS}/ifcfg-eth0`]: eth("eth0", "192.168.1.5", ["DEFROUTE=no"]) });
    expect(byName(defrouteNo, "eth0")!.ipv4).toEqual({ dhcp: false, addresses: [{ address: "192.168.1.5", prefix: 24 }], routes: [] });
  });

  test("IPV6_DEFAULTGW with %dev goes to that interface", () => {
    const findings = capture({
      "etc/sysconfig/network": lines("NETWORKING_IPV6=yes", "IPV6_DEFAULTGW=fe80::1%eth1"),
      [`${NS}/ifcfg-eth0`]: lines("DEVICE=eth0", "BOOTPROTO=dhcp", "IPV6INIT=yes"),
      [`${NS}/ifcfg-eth1`]: lines("DEVICE=eth1", "BOOTPROTO=dhcp", "IPV6INIT=yes", "IPV6_AUTOCONF=no", "IPV6ADDR=2001:db8:5::5/64"),
    });
    expect(byName(findings, "eth0")!.ipv6!.gateway).toBeUndefined();
    expect(byName(findings, "eth1")!.ipv6!.gateway).toEqual({ via: "fe80::1" });
  });
});

describe("route files", () => {
  test("ip-route lines with every option, route-DEVICE and route-NICKNAME both read once, a bad line warned with file and line", () => {
    const findings = capture({
      [`${NS}/ifcfg-uplink`]: lines("DEVICE=eth0", "BOOTPROTO=none", "IPADDR=10.0.0.5", "PREFIX=24", "IPV6INIT=no"),
      [`${NS}/route-eth0`]: lines("# static routes", "", "default via 10.0.0.1 metric 50", "10.20.0.0/16 via 10.0.0.254 dev eth0 proto static", "10.30.0.0/16 dev eth0 scope link src 10.0.0.5", "blackhole 10.66.0.0/16", "192.168.7.0/24 via 10.0.0.9 table 100 onlink"),
      [`${NS}/route-uplink`]: lines("10.40.0.0/16 via 10.0.0.253", "10.50.0.0/16 via 10.0.0.253 mtu lock 1400", "10.60.0.0/16 via 10.0.0.252 dev eth1"),
    });
    expect(byName(findings, "eth0")!.ipv4).toEqual({
      dhcp: false,
      addresses: [{ address: "10.0.0.5", prefix: 24 }],
      gateway: { via: "10.0.0.1", metric: 50 },
      routes: [
        { to: "10.20.0.0/16", via: "10.0.0.254" },
        { to: "10.30.0.0/16", scope: "link", src: "10.0.0.5" },
        { to: "10.66.0.0/16", type: "blackhole" },
        { to: "192.168.7.0/24", via: "10.0.0.9", table: 100, onlink: true },
        { to: "10.40.0.0/16", via: "10.0.0.253" },
      ],
    });
    expect(findings.warnings.map((w) => w.message)).toEqual([
      `not carried: /${NS}/route-uplink line 2: "10.50.0.0/16 via 10.0.0.253 mtu lock 1400": "mtu" is not understood`,
      `not carried: /${NS}/route-uplink line 3: "10.60.0.0/16 via 10.0.0.252 dev eth1": it names device eth1, not eth0`,
    ]);
  });

  test("DEFROUTE=no: a GATEWAY is dropped, a route file's default stays an explicit route; IPv6 lines in route- are refused", () => {
    const findings = capture({
      [`${NS}/ifcfg-eth1`]: lines("DEVICE=eth1", "BOOTPROTO=none", "IPADDR=10.0.0.5", "PREFIX=24", "GATEWAY=10.0.0.1", "DEFROUTE=no", "IPV6INIT=no"),
      [`${NS}/route-eth1`]: lines("default via 10.0.0.2 table 200", "2001:db8::/32 via 2001:db8::1"),
      [`${NS}/rule-eth1`]: lines("from 10.0.0.5 table 200"),
    });
    expect(byName(findings, "eth1")!.ipv4).toEqual({ dhcp: false, addresses: [{ address: "10.0.0.5", prefix: 24 }], routes: [{ to: "0.0.0.0/0", via: "10.0.0.2", table: 200 }] });
    expect(warningIds(findings)).toEqual(["route-not-carried", "policy-routing-not-carried"]);
  });
});

describe("aliases", () => {
  test("eth0:0 and eth0:web are addresses of eth0 (NETMASK inherited); ONPARENT=no and ranges are warned; ONBOOT=no is a caveat", () => {
    const findings = capture({
      [`${NS}/ifcfg-eth0`]: lines("DEVICE=eth0", "BOOTPROTO=none", "IPADDR=192.168.1.5", "NETMASK=255.255.255.0", "GATEWAY=192.168.1.1", "IPV6INIT=no"),
      [`${NS}/ifcfg-eth0:0`]: lines("DEVICE=eth0:0", "IPADDR=192.168.1.6", "ONBOOT=yes"),
      [`${NS}/ifcfg-eth0:web`]: lines("DEVICE=eth0:web", "IPADDR=192.168.2.7", "PREFIX=25", "ONBOOT=no"),
      [`${NS}/ifcfg-eth0:2`]: lines("DEVICE=eth0:2", "IPADDR=192.168.1.8", "ONPARENT=no"),
      [`${NS}/ifcfg-eth0:1.bak`]: lines("DEVICE=eth0:1", "IPADDR=192.168.1.99"),
      [`${NS}/ifcfg-eth0-range0`]: lines("IPADDR_START=192.168.1.100", "IPADDR_END=192.168.1.120", "CLONENUM_START=10"),
      [`${NS}/ifcfg-eth9:0`]: lines("DEVICE=eth9:0", "IPADDR=10.9.9.9"),
    });
    expect(findings.interfaces).toHaveLength(1);
    expect(byName(findings, "eth0")!.ipv4!.addresses).toEqual([
      { address: "192.168.1.5", prefix: 24 },
      { address: "192.168.1.6", prefix: 24 },
      { address: "192.168.2.7", prefix: 25 },
    ]);
    expect(warningIds(findings).sort()).toEqual(["alias-not-carried", "alias-not-carried", "alias-onboot-ignored", "alias-range-not-carried"]);
  });
});

describe("bonds, VLANs, bridges", () => {
  test("RHEL docs bond with 802.3ad options and ports by HWADDR, VLAN on the bond, bridge on the VLAN", () => {
    const findings = capture({
      [`${NS}/ifcfg-bond0`]: lines("DEVICE=bond0", "NAME=bond0", "TYPE=Bond", "BONDING_MASTER=yes", "ONBOOT=yes", "BOOTPROTO=none", "IPV6INIT=no", 'BONDING_OPTS="mode=802.3ad miimon=100 lacp_rate=fast xmit_hash_policy=layer3+4 updelay=200 downdelay=200"'),
      [`${NS}/ifcfg-enp1s0`]: lines("TYPE=Ethernet", "NAME=bond0-port1", "DEVICE=enp1s0", "HWADDR=52:54:00:AA:00:01", "BOOTPROTO=none", "ONBOOT=yes", "MASTER=bond0", "SLAVE=yes"),
      [`${NS}/ifcfg-enp2s0`]: lines("TYPE=Ethernet", "NAME=bond0-port2", "DEVICE=enp2s0", "HWADDR=52:54:00:AA:00:02", "BOOTPROTO=none", "ONBOOT=yes", "MASTER=bond0", "SLAVE=yes"),
      [`${NS}/ifcfg-bond0.100`]: lines("DEVICE=bond0.100", "VLAN=yes", "ONBOOT=yes", "BOOTPROTO=none", "BRIDGE=br100", "NM_CONTROLLED=no"),
      [`${NS}/ifcfg-br100`]: lines("DEVICE=br100", "TYPE=Bridge", "ONBOOT=yes", "BOOTPROTO=static", "IPADDR=10.100.0.5", "PREFIX=24", "GATEWAY=10.100.0.1", "STP=on", "DELAY=0", "IPV6INIT=no", "MTU=9000"),
    });
    const src = (name: string) => `/${NS}/ifcfg-${name}`;
    expect(findings.interfaces).toEqual([
      { name: "bond0", kind: "bond", activation: "boot", source: src("bond0"), bond: { mode: "802.3ad", miimon: 100, lacpRate: "fast", xmitHashPolicy: "layer3+4", updelay: 200, downdelay: 200 } },
      { name: "bond0.100", kind: "vlan", activation: "boot", source: src("bond0.100"), vlan: { id: 100, parent: "bond0" }, controller: "br100" },
      {
        name: "br100",
        kind: "bridge",
        activation: "boot",
        mtu: 9000,
        source: src("br100"),
        bridge: { stp: true, forwardDelay: 0 },
        ipv4: { dhcp: false, addresses: [{ address: "10.100.0.5", prefix: 24 }], gateway: { via: "10.100.0.1" }, routes: [] },
      },
      { name: "enp1s0", kind: "ethernet", mac: "52:54:00:aa:00:01", activation: "boot", source: src("enp1s0"), controller: "bond0" },
      { name: "enp2s0", kind: "ethernet", mac: "52:54:00:aa:00:02", activation: "boot", source: src("enp2s0"), controller: "bond0" },
    ]);
    expect(findings.warnings).toEqual([]);
  });

  test("numeric mode, primary, unknown options and MACADDR: explicit MAC of the bond, a warned override on a NIC", () => {
    const findings = capture({
      [`${NS}/ifcfg-bond1`]: lines("DEVICE=bond1", 'BONDING_OPTS="mode=1 miimon=100 primary=eth0 fail_over_mac=active arp_ip_target=+10.0.0.1"', "MACADDR=02:00:00:00:00:b1", "BOOTPROTO=dhcp", "IPV6INIT=no"),
      [`${NS}/ifcfg-eth0`]: lines("DEVICE=eth0", "MASTER=bond1", "SLAVE=yes", "HWADDR=52:54:00:aa:00:10", "MACADDR=02:00:00:00:00:10", "IPADDR=10.0.0.9"),
    });
    expect(byName(findings, "bond1")).toMatchObject({ kind: "bond", mac: "02:00:00:00:00:b1", bond: { mode: "active-backup", miimon: 100, primary: "eth0" }, ipv4: { dhcp: true, addresses: [], routes: [] } });
    expect(byName(findings, "eth0")).toEqual({ name: "eth0", kind: "ethernet", mac: "52:54:00:aa:00:10", activation: "boot", source: `/${NS}/ifcfg-eth0`, controller: "bond1" });
    expect(warningIds(findings)).toEqual(["bond-option-not-carried", "bond-option-not-carried", "mac-override-not-carried", "port-address-not-carried"]);
  });

  test("VLAN by PHYSDEV + VLAN_ID (TYPE=Vlan as NetworkManager writes it); its parent NIC without a file of its own is carried as a bare link", () => {
    const findings = capture({ [`${NS}/ifcfg-vlan20`]: lines("VLAN=yes", "TYPE=Vlan", "PHYSDEV=eth1", "VLAN_ID=20", "REORDER_HDR=yes", "GVRP=no", "DEVICE=vlan20", "BOOTPROTO=none", "IPADDR=10.20.0.5", "PREFIX=24", "IPV6INIT=no", "NAME=vlan20", "ONBOOT=yes") });
    expect(findings.interfaces.map((i) => [i.name, i.kind, i.vlan])).toEqual([
      ["vlan20", "vlan", { id: 20, parent: "eth1" }],
      ["eth1", "ethernet", undefined],
    ]);
  });

  test("ports by MASTER_UUID (NetworkManager's writer); a port whose bond is not carried is dropped, said so", () => {
    const findings = capture({
      [`${NS}/ifcfg-bond0`]: lines("BONDING_OPTS=mode=balance-alb", "TYPE=Bond", "BONDING_MASTER=yes", "NAME=bond0", "UUID=aaaaaaaa-1111-2222-3333-444444444444", "DEVICE=bond0", "ONBOOT=yes", "IPV6INIT=no"),
      [`${NS}/ifcfg-bond-slave-eth0`]: lines("TYPE=Ethernet", "NAME=bond-slave-eth0", "DEVICE=eth0", "ONBOOT=yes", "MASTER_UUID=aaaaaaaa-1111-2222-3333-444444444444", "SLAVE=yes"),
      [`${NS}/ifcfg-eth5`]: lines("DEVICE=eth5", "MASTER=bond7", "SLAVE=yes"),
    });
    expect(byName(findings, "eth0")!.controller).toBe("bond0");
    expect(byName(findings, "eth5")).toBeUndefined();
    expect(warningIds(findings)).toEqual(["port-not-carried"]);
  });

  test("teams, Wi-Fi, InfiniBand, PPPoE and other types are refused by interface and kind", () => {
    const findings = capture({
      [`${NS}/ifcfg-team0`]: lines("DEVICE=team0", "DEVICETYPE=Team", 'TEAM_CONFIG=\'{"runner": {"name": "activebackup"}}\'', "BOOTPROTO=dhcp"),
      [`${NS}/ifcfg-team0-eth1`]: lines("DEVICE=eth1", "DEVICETYPE=TeamPort", "TEAM_MASTER=team0"),
      [`${NS}/ifcfg-wlan0`]: lines("ESSID=office", "MODE=Managed", "TYPE=Wireless", "DEVICE=wlan0", "BOOTPROTO=dhcp"),
      [`${NS}/ifcfg-ib0`]: lines("DEVICE=ib0", "TYPE=InfiniBand", "CONNECTED_MODE=yes", "IPADDR=10.50.0.5", "PREFIX=16"),
      [`${NS}/ifcfg-ppp0`]: lines("DEVICE=ppp0", "TYPE=xDSL", "ETH=eth0", "USER=dsluser", "PPPOE_TIMEOUT=80"),
      [`${NS}/ifcfg-ovsbr0`]: lines("DEVICE=ovsbr0", "DEVICETYPE=ovs", "TYPE=OVSBridge"),
    });
    expect(findings.interfaces).toEqual([]);
    expect(findings.warnings.map((w) => [w.id, w.interface])).toEqual([
      ["infiniband-not-carried", "ib0"],
      ["interface-type-not-carried", "ovsbr0"],
      ["pppoe-not-carried", "ppp0"],
      ["team-not-carried", "team0"],
      ["team-not-carried", "eth1"],
      ["wifi-not-carried", "wlan0"],
    ]);
  });
});

describe("settings that change meaning", () => {
  test("ETHTOOL_OPTS, ZONE, ARPCHECK=no, LINKDELAY, IPV6_PRIVACY are warned per interface; their no-op values and bookkeeping keys are not", () => {
    const findings = capture({
      [`${NS}/ifcfg-eth0`]: lines(
        "DEVICE=eth0", "BOOTPROTO=dhcp", "IPV6INIT=yes", 'ETHTOOL_OPTS="speed 1000 duplex full autoneg off"', "ZONE=dmz", "ARPCHECK=no", "LINKDELAY=10",
        "IPV6_PRIVACY=rfc3041", "NM_CONTROLLED=yes", "USERCTL=no", "PEERDNS=yes", "HOTPLUG=no", "DHCP_HOSTNAME=app01",
      ),
      [`${NS}/ifcfg-eth1`]: lines("DEVICE=eth1", "BOOTPROTO=dhcp", "ARPCHECK=yes", "IPV6_PRIVACY=no", "LINKDELAY=0", "ZONE="),
    });
    expect(findings.warnings.map((w) => [w.interface, w.message.replace(/ of eth0 in .*$/, "")])).toEqual([
      ["eth0", 'not carried: ETHTOOL_OPTS=speed 1000 duplex full autoneg off'],
      ["eth0", "not carried: ZONE=dmz"],
      ["eth0", "not carried: ARPCHECK=no"],
      ["eth0", "not carried: LINKDELAY=10"],
      ["eth0", "not carried: IPV6_PRIVACY=rfc3041"],
    ]);
  });

  test("IPv6 addresses without IPV6INIT are carried as initscripts applies them, with a caveat", () => {
    const findings = capture({ [`${NS}/ifcfg-eth0`]: lines("DEVICE=eth0", "BOOTPROTO=dhcp", "IPV6ADDR=2001:db8::5/64") });
    expect(byName(findings, "eth0")!.ipv6).toEqual({ autoconf: true, dhcp: false, addresses: [{ address: "2001:db8::5", prefix: 64 }], routes: [] });
    expect(warningIds(findings)).toEqual(["ipv6init-unset"]);
  });
});

describe("render EL7 network-scripts", () => {
  test("a NIC is bound by HWADDR under its old DEVICE name; routes with options; DNS on the gateway's interface", () => {
    const files = renderNetworkScripts(config([
      {
        name: "eth0",
        kind: "ethernet",
        mac: "52:54:00:aa:00:01",
        activation: "boot",
        mtu: 9000,
        ipv4: { dhcp: false, addresses: [{ address: "192.168.50.10", prefix: 24 }], gateway: { via: "192.168.50.1", metric: 100 }, routes: [{ to: "10.20.0.0/16", via: "192.168.50.254", metric: 5, src: "192.168.50.10" }] },
        ipv6: { autoconf: false, dhcp: true, addresses: [{ address: "2001:db8::5", prefix: 64 }, { address: "2001:db8::6", prefix: 64 }], gateway: { via: "fe80::1" }, routes: [] },
      },
      { name: "eth1", kind: "ethernet", mac: "52:54:00:aa:00:02", activation: "manual", ipv4: { dhcp: true, neverDefault: true, addresses: [], routes: [] } },
    ]));
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      [`/${NS}/ifcfg-eth0`, 0o644],
      [`/${NS}/route-eth0`, 0o644],
      [`/${NS}/ifcfg-eth1`, 0o644],
    ]);
    expect(files[0]!.content).toBe(lines(
      "# carried over from the old system by va-agent", "DEVICE=eth0", "HWADDR=52:54:00:aa:00:01", "TYPE=Ethernet", "ONBOOT=yes", "MTU=9000",
      "BOOTPROTO=none", "IPADDR0=192.168.50.10", "PREFIX0=24", "GATEWAY=192.168.50.1", "METRIC=100", "IPV4_ROUTE_METRIC=100",
      "IPV6INIT=yes", "IPV6_AUTOCONF=no", "DHCPV6C=yes", "IPV6ADDR=2001:db8::5/64", "IPV6ADDR_SECONDARIES=2001:db8::6/64", "IPV6_DEFAULTGW=fe80::1%eth0",
      "DNS1=192.168.50.2", "DNS2=2620:fe::fe", 'DOMAIN="corp.example lab.example"',
    ));
    expect(files[1]!.content).toBe(lines("# carried over from the old system by va-agent", "10.20.0.0/16 via 192.168.50.254 dev eth0 metric 5 src 192.168.50.10"));
    expect(files[2]!.content).toBe(lines("# carried over from the old system by va-agent", "DEVICE=eth1", "HWADDR=52:54:00:aa:00:02", "TYPE=Ethernet", "ONBOOT=no", "BOOTPROTO=dhcp", "DEFROUTE=no", "IPV6INIT=no"));
  });

  test("bond, ports, VLAN and bridge files", () => {
    const files = renderNetworkScripts(config(BOND_VLAN_BRIDGE));
    const content = (name: string) => files.find((f) => f.path === `/${NS}/${name}`)!.content.split("\n").slice(1, -1);
    expect(content("ifcfg-bond0")).toEqual(["DEVICE=bond0", "MACADDR=02:00:00:00:00:b0", "TYPE=Bond", "ONBOOT=yes", "BONDING_MASTER=yes", 'BONDING_OPTS="mode=802.3ad miimon=100 lacp_rate=fast xmit_hash_policy=layer3+4 primary=eth0"', "BOOTPROTO=none", "IPV6INIT=no"]);
    expect(content("ifcfg-eth0")).toEqual(["DEVICE=eth0", "HWADDR=52:54:00:aa:00:01", "TYPE=Ethernet", "ONBOOT=yes", "BOOTPROTO=none", "MASTER=bond0", "SLAVE=yes"]);
    expect(content("ifcfg-bond0.100")).toEqual(["DEVICE=bond0.100", "TYPE=Vlan", "ONBOOT=yes", "VLAN=yes", "PHYSDEV=bond0", "VLAN_ID=100", "BOOTPROTO=none", "BRIDGE=br100"]);
    expect(content("ifcfg-br100")).toContain("STP=no");
    expect(content("ifcfg-br100")).toContain("DELAY=15");
  });
});

const BOND_VLAN_BRIDGE: CapturedInterface[] = [
  { name: "bond0", kind: "bond", mac: "02:00:00:00:00:b0", activation: "boot", bond: { mode: "802.3ad", miimon: 100, lacpRate: "fast", xmitHashPolicy: "layer3+4", primary: "eth0" } },
  { name: "eth0", kind: "ethernet", mac: "52:54:00:aa:00:01", activation: "boot", controller: "bond0" },
  { name: "eth1", kind: "ethernet", mac: "52:54:00:aa:00:02", activation: "boot", controller: "bond0" },
  { name: "bond0.100", kind: "vlan", activation: "boot", vlan: { id: 100, parent: "bond0" }, controller: "br100" },
  {
    name: "br100",
    kind: "bridge",
    activation: "boot",
    mtu: 9000,
    bridge: { stp: false, forwardDelay: 15 },
    ipv4: { dhcp: false, addresses: [{ address: "10.100.0.5", prefix: 24 }, { address: "10.101.0.5", prefix: 24 }], gateway: { via: "10.100.0.1" }, routes: [{ to: "10.200.0.0/16", via: "10.100.0.254", table: 10, onlink: true }] },
    ipv6: { autoconf: true, dhcp: false, neverDefault: true, addresses: [], routes: [{ to: "2001:db8:77::/48", via: "fe80::77", metric: 10 }] },
  },
];

function config(interfaces: CapturedInterface[]): CapturedConfig {
  return { format: 2, interfaces, dns: { servers: ["192.168.50.2", "2620:fe::fe"], search: ["corp.example", "lab.example"] }, accounts: [], mounts: [], paths: [], warnings: [] };
}

describe("round trip: render, then capture the rendered files", () => {
  const models: Record<string, CapturedInterface[]> = {
    "static NIC with routes, metric and IPv6": [
      {
        name: "eth0",
        kind: "ethernet",
        mac: "52:54:00:aa:00:01",
        activation: "boot",
        mtu: 1450,
        ipv4: { dhcp: false, addresses: [{ address: "192.168.50.10", prefix: 24 }, { address: "192.168.51.10", prefix: 25 }], gateway: { via: "192.168.50.1", metric: 100 }, routes: [{ to: "10.20.0.0/16", via: "192.168.50.254", metric: 5 }, { to: "10.66.0.0/16", type: "unreachable" }] },
        ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8::5", prefix: 64 }], gateway: { via: "2001:db8::1", metric: 20 }, routes: [{ to: "2001:db8:99::/48", via: "2001:db8::fe" }] },
      },
    ],
    "DHCP never-default, manual activation, IPv6 off": [{ name: "eth1", kind: "ethernet", mac: "52:54:00:aa:00:02", activation: "manual", ipv4: { dhcp: true, neverDefault: true, addresses: [], routes: [] } }],
    "hosting /32 with an off-subnet gateway and a link-local IPv6 router": [
      {
        name: "eth0",
        kind: "ethernet",
        mac: "96:00:00:12:34:56",
        activation: "boot",
        ipv4: { dhcp: false, addresses: [{ address: "192.0.2.10", prefix: 32 }], gateway: { via: "172.31.1.1" }, routes: [{ to: "172.31.1.1/32", scope: "link" }] },
        ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:1:2::2", prefix: 64 }], gateway: { via: "fe80::1" }, routes: [] },
      },
    ],
    "bond with ports, VLAN on it, bridge on the VLAN": BOND_VLAN_BRIDGE,
  };
  for (const [name, interfaces] of Object.entries(models)) {
    test(name, () => {
      const root = tree({});
      for (const file of renderNetworkScripts(config(interfaces))) writeRenderedFile(root, file);
      const findings = captureIfcfg(root);
      const withoutSource = ({ source: _source, ...rest }: FoundInterface) => rest;
      const byOldName = (list: { name?: string }[]) => [...list].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
      expect(byOldName(findings.interfaces.map(withoutSource))).toEqual(byOldName(interfaces));
      expect(findings.warnings).toEqual([]);
    });
  }
});
