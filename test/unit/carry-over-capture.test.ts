import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { captureConfig } from "../../agent/carry-over/capture-config.ts";
import type { CapturedConfig } from "../../agent/carry-over/captured-config.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { FakeRunner } from "./fake-runner.ts";

const FIXTURES = join(import.meta.dir, "fixtures/carry-over");

/** `ip -j addr` as the old system would answer; empty unless a test gives one. */
function ipRunner(addr: unknown[] = [], route: unknown[] = []): FakeRunner {
  return new FakeRunner().respond((argv) =>
    argv[0] === "ip" ? { stdout: JSON.stringify(argv.includes("route") ? route : addr) } : undefined,
  );
}

async function capture(fixture: string, run = ipRunner(), accounts: string[] = []): Promise<CapturedConfig> {
  const manifest = { carryOver: { accounts, paths: [], network: true } };
  return captureConfig({ root: join(FIXTURES, fixture), run, log: silentLog(), manifest });
}

const ids = (config: CapturedConfig) => config.warnings.map((w) => w.id);

describe("capture from EL7 network-scripts", () => {
  test("static: NETMASK and IPADDR1/PREFIX1, gateway, route file, MTU, DNS1.., DOMAIN, HWADDR", async () => {
    const config = await capture("el7");
    expect(config.interfaces[0]).toEqual({
      mac: "52:54:00:aa:00:01",
      oldName: "eth0",
      method: "static",
      addresses: [
        { address: "192.168.50.10", prefix: 24 },
        { address: "192.168.51.10", prefix: 25 },
      ],
      gateway: "192.168.50.1",
      routes: [
        { to: "10.20.0.0/16", via: "192.168.50.254", metric: 100 },
        { to: "172.16.0.0/12", via: "192.168.50.253" },
      ],
      mtu: 9000,
    });
    expect(config.dns).toEqual({ servers: ["192.168.50.2", "9.9.9.9"], search: ["corp.example", "lab.example"] });
    expect(config.hostname).toBe("appliance01.corp.example");
  });

  test("DHCP: the MAC comes from /sys/class/net when the file has no HWADDR", async () => {
    const config = await capture("el7");
    expect(config.interfaces[1]).toEqual({ mac: "52:54:00:aa:00:02", oldName: "eth1", method: "dhcp", addresses: [], routes: [] });
    expect(config.interfaces).toHaveLength(2);
  });

  test("a bond and its member are reported as not carried", async () => {
    const config = await capture("el7");
    expect(config.warnings.filter((w) => w.id === "bond-not-carried").map((w) => w.message)).toEqual([
      "not carried: bond0 from /etc/sysconfig/network-scripts/ifcfg-bond0 is a bond (TYPE=Bond); configure it on the new system by hand",
      "not carried: eth2 from /etc/sysconfig/network-scripts/ifcfg-eth2 is a bond member (TYPE=Ethernet MASTER=bond0 SLAVE=yes); configure it on the new system by hand",
    ]);
  });

  test("account hashes come from /etc/shadow; a missing account is a warning", async () => {
    const config = await capture("el7", ipRunner(), ["root", "admin", "ghost"]);
    expect(config.accounts).toEqual([
      { name: "root", passwordHash: "$6$oldsalt$roothashroothash" },
      { name: "admin", passwordHash: "$6$adminsalt$adminhashadminhash" },
    ]);
    expect(config.warnings).toContainEqual({ id: "account-missing", message: "not carried: account ghost is not in /etc/shadow" });
  });
});

describe("capture from NetworkManager keyfiles", () => {
  test("manual ethernet connection: mac-address, address1 with gateway, dns, dns-search, route1, mtu", async () => {
    const config = await capture("nm");
    expect(config.interfaces).toEqual([
      {
        mac: "52:54:00:bb:00:01",
        oldName: "ens3",
        method: "static",
        addresses: [{ address: "10.0.2.15", prefix: 24 }],
        gateway: "10.0.2.2",
        routes: [{ to: "192.168.100.0/24", via: "10.0.2.254", metric: 50 }],
        mtu: 1400,
      },
    ]);
    expect(config.dns).toEqual({ servers: ["10.0.2.3", "1.1.1.1"], search: ["nm.example"] });
  });

  test("a VLAN connection is reported as not carried", async () => {
    expect((await capture("nm")).warnings).toContainEqual({
      id: "vlan-not-carried",
      message: "not carried: ens3.10 from /etc/NetworkManager/system-connections/vlan10.nmconnection is a vlan connection; configure it on the new system by hand",
    });
  });
});

describe("capture from Debian ifupdown", () => {
  test("netmask form and /prefix form, gateway, dns-*, mtu, up ip route add, through source interfaces.d/*", async () => {
    const config = await capture("ifupdown");
    expect(config.interfaces).toEqual([
      { mac: "52:54:00:cc:00:02", oldName: "eth1", method: "static", addresses: [{ address: "172.20.0.7", prefix: 16 }], routes: [], mtu: 9000 },
      {
        mac: "52:54:00:cc:00:01",
        oldName: "eth0",
        method: "static",
        addresses: [{ address: "192.168.122.50", prefix: 24 }],
        gateway: "192.168.122.1",
        routes: [{ to: "10.99.0.0/16", via: "192.168.122.254", metric: 20 }],
      },
    ]);
    expect(config.dns).toEqual({ servers: ["192.168.122.1", "8.8.8.8"], search: ["deb.example"] });
  });

  test("a VLAN and a static IPv6 stanza are reported as not carried", async () => {
    expect((await capture("ifupdown")).warnings).toEqual([
      { id: "vlan-not-carried", message: "not carried: eth1.100 from /etc/network/interfaces.d/storage is a VLAN; configure it on the new system by hand" },
      { id: "ipv6-not-carried", message: "not carried: IPv6 (static) of eth0 in /etc/network/interfaces.d/storage" },
    ]);
  });
});

describe("capture from systemd-networkd", () => {
  test("[Match] Name resolved to its MAC, [Network] Address/Gateway/DNS/Domains, [Route], [Link] MTUBytes", async () => {
    const config = await capture("networkd");
    expect(config.interfaces).toEqual([
      {
        mac: "52:54:00:dd:00:01",
        oldName: "enp1s0",
        method: "static",
        addresses: [{ address: "10.5.0.20", prefix: 24 }],
        gateway: "10.5.0.1",
        routes: [{ to: "10.6.0.0/16", via: "10.5.0.254", metric: 10 }],
        mtu: 1500,
      },
    ]);
    expect(config.dns).toEqual({ servers: ["10.5.0.53", "10.5.0.54"], search: ["nd.example"] });
  });
});

describe("DNS fallback and the live state", () => {
  test("resolv.conf gives DNS when no network file names servers; IPv6 servers are reported", async () => {
    const config = await capture("resolv-fallback");
    expect(config.dns).toEqual({ servers: ["192.0.2.53", "192.0.2.54"], search: ["fallback.example", "other.example"] });
    expect(ids(config)).toEqual(["ipv6-not-carried"]);
  });

  test("live addresses that differ from the files: the files win and both are named", async () => {
    const live = [{ ifname: "eth0", address: "52:54:00:cc:00:01", addr_info: [{ family: "inet", local: "192.168.122.99", prefixlen: 24 }] }];
    const routes = [{ dst: "default", gateway: "192.168.122.1", dev: "eth0" }];
    const config = await capture("ifupdown", ipRunner(live, routes));
    expect(config.interfaces.find((i) => i.oldName === "eth0")?.addresses).toEqual([{ address: "192.168.122.50", prefix: 24 }]);
    expect(config.warnings).toContainEqual({
      id: "live-differs",
      message: "eth0 (52:54:00:cc:00:01): live addresses [192.168.122.99/24] differ from the configuration files [192.168.122.50/24]; the files are carried",
    });
  });

  test("a live address no file describes is reported; ip -j addr and ip -j -4 route are read", async () => {
    const live = [
      { ifname: "enp1s0", address: "52:54:00:DD:00:01", addr_info: [{ family: "inet", local: "10.5.0.20", prefixlen: 24 }] },
      { ifname: "enp2s0", address: "52:54:00:dd:00:02", addr_info: [{ family: "inet", local: "10.7.0.3", prefixlen: 24 }] },
    ];
    const run = ipRunner(live, [{ dst: "default", gateway: "10.5.0.1", dev: "enp1s0" }]);
    const config = await capture("networkd", run);
    expect(ids(config)).toEqual(["unconfigured-live-address"]);
    expect(config.warnings[0]!.message).toBe("not carried: enp2s0 has 10.7.0.3/24 live, but no configuration file describes it");
    expect(run.calls).toEqual([
      ["ip", "-j", "addr", "show"],
      ["ip", "-j", "-4", "route", "show"],
    ]);
  });

  test("when ip cannot run, capture goes on and says the live state was not checked", async () => {
    const run = new FakeRunner().respond((argv) => (argv[0] === "ip" ? { status: 127, stderr: "ip: not found" } : undefined));
    expect(ids(await capture("networkd", run))).toEqual(["live-unchecked"]);
  });
});
