import { describe, expect, test } from "bun:test";
import type { CapturedConfig } from "../../agent/carry-over/captured-config.ts";
import { renderHostname, withHostsEntry } from "../../agent/carry-over/render-hostname.ts";
import { withInterfacesDirSourced } from "../../agent/carry-over/render-ifupdown.ts";
import { renderNetwork } from "../../agent/carry-over/render-network.ts";
import { renderResolvConf } from "../../agent/carry-over/render-resolv-conf.ts";

const CONFIG: CapturedConfig = {
  format: 1,
  hostname: "appliance01.corp.example",
  interfaces: [
    {
      mac: "52:54:00:aa:00:01",
      oldName: "eth0",
      method: "static",
      addresses: [
        { address: "192.168.50.10", prefix: 24 },
        { address: "192.168.51.10", prefix: 25 },
      ],
      gateway: "192.168.50.1",
      routes: [{ to: "10.20.0.0/16", via: "192.168.50.254", metric: 100 }],
      mtu: 9000,
    },
    { mac: "52:54:00:aa:00:02", oldName: "eth1", method: "dhcp", addresses: [], routes: [] },
  ],
  dns: { servers: ["192.168.50.2", "9.9.9.9"], search: ["corp.example"] },
  accounts: [],
  paths: [],
  warnings: [],
};

describe("render NetworkManager keyfiles (EL9)", () => {
  test("one 0600 keyfile per interface, bound by mac-address, no interface-name; DNS on the gateway's interface", () => {
    expect(renderNetwork(CONFIG, "networkmanager")).toEqual([
      {
        path: "/etc/NetworkManager/system-connections/va-eth0.nmconnection",
        mode: 0o600,
        content: [
          "[connection]",
          "id=va-eth0",
          "uuid=f3cdc1ba-1bd7-5206-9f50-c2721b71a5d5",
          "type=ethernet",
          "autoconnect=true",
          "",
          "[ethernet]",
          "mac-address=52:54:00:AA:00:01",
          "mtu=9000",
          "",
          "[ipv4]",
          "method=manual",
          "address1=192.168.50.10/24,192.168.50.1",
          "address2=192.168.51.10/25",
          "dns=192.168.50.2;9.9.9.9;",
          "dns-search=corp.example;",
          "route1=10.20.0.0/16,192.168.50.254,100",
          "",
          "[ipv6]",
          "method=auto",
          "",
        ].join("\n"),
      },
      {
        path: "/etc/NetworkManager/system-connections/va-eth1.nmconnection",
        mode: 0o600,
        content: [
          "[connection]",
          "id=va-eth1",
          "uuid=eca76b80-5d05-5f86-972d-3ff57c62ce3d",
          "type=ethernet",
          "autoconnect=true",
          "",
          "[ethernet]",
          "mac-address=52:54:00:AA:00:02",
          "",
          "[ipv4]",
          "method=auto",
          "",
          "[ipv6]",
          "method=auto",
          "",
        ].join("\n"),
      },
    ]);
  });
});

describe("render systemd-networkd", () => {
  test("one .network per interface matched by MACAddress", () => {
    expect(renderNetwork(CONFIG, "networkd")).toEqual([
      {
        path: "/etc/systemd/network/10-va-eth0.network",
        mode: 0o644,
        content: [
          "[Match]",
          "MACAddress=52:54:00:aa:00:01",
          "",
          "[Link]",
          "MTUBytes=9000",
          "",
          "[Network]",
          "Address=192.168.50.10/24",
          "Address=192.168.51.10/25",
          "Gateway=192.168.50.1",
          "DNS=192.168.50.2",
          "DNS=9.9.9.9",
          "Domains=corp.example",
          "",
          "[Route]",
          "Destination=10.20.0.0/16",
          "Gateway=192.168.50.254",
          "Metric=100",
          "",
        ].join("\n"),
      },
      { path: "/etc/systemd/network/10-va-eth1.network", mode: 0o644, content: "[Match]\nMACAddress=52:54:00:aa:00:02\n\n[Network]\nDHCP=ipv4\n" },
    ]);
  });
});

describe("render Debian ifupdown", () => {
  test("a .link file per NIC gives back its old name, then the stanzas in interfaces.d/va-carried", () => {
    expect(renderNetwork(CONFIG, "ifupdown")).toEqual([
      { path: "/etc/systemd/network/10-va-eth0.link", mode: 0o644, content: "[Match]\nMACAddress=52:54:00:aa:00:01\n\n[Link]\nName=eth0\n" },
      { path: "/etc/systemd/network/10-va-eth1.link", mode: 0o644, content: "[Match]\nMACAddress=52:54:00:aa:00:02\n\n[Link]\nName=eth1\n" },
      {
        path: "/etc/network/interfaces.d/va-carried",
        mode: 0o644,
        content: [
          "# carried over from the old system by va-agent",
          "",
          "auto eth0",
          "iface eth0 inet static",
          "    address 192.168.50.10/24",
          "    gateway 192.168.50.1",
          "    mtu 9000",
          "    dns-nameservers 192.168.50.2 9.9.9.9",
          "    dns-search corp.example",
          "    up ip address add 192.168.51.10/25 dev eth0",
          "    up ip route add 10.20.0.0/16 via 192.168.50.254 metric 100",
          "",
          "auto eth1",
          "iface eth1 inet dhcp",
          "",
        ].join("\n"),
      },
    ]);
  });

  test("the interfaces file gets a source line only when it does not source interfaces.d already", () => {
    const debian = "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n";
    expect(withInterfacesDirSourced(debian)).toBe(debian);
    expect(withInterfacesDirSourced("auto lo\niface lo inet loopback")).toBe("auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/va-carried\n");
  });
});

describe("render EL7 network-scripts", () => {
  test("ifcfg with HWADDR and a route file", () => {
    const files = renderNetwork(CONFIG, "network-scripts");
    expect(files.map((f) => f.path)).toEqual([
      "/etc/sysconfig/network-scripts/ifcfg-eth0",
      "/etc/sysconfig/network-scripts/route-eth0",
      "/etc/sysconfig/network-scripts/ifcfg-eth1",
    ]);
    expect(files[1]!.content).toBe("10.20.0.0/16 via 192.168.50.254 dev eth0 metric 100\n");
    expect(files[2]!.content).toBe("DEVICE=eth1\nHWADDR=52:54:00:aa:00:02\nTYPE=Ethernet\nONBOOT=yes\nBOOTPROTO=dhcp\n");
  });
});

describe("render DNS and hostname", () => {
  test("static resolv.conf", () => {
    expect(renderResolvConf(CONFIG.dns)).toEqual([
      { path: "/etc/resolv.conf", mode: 0o644, content: "# carried over from the old system by va-agent\nsearch corp.example\nnameserver 192.168.50.2\nnameserver 9.9.9.9\n" },
    ]);
    expect(renderResolvConf({ servers: [], search: [] })).toEqual([]);
  });

  test("hostname file and the Debian 127.0.1.1 hosts line, replaced or added", () => {
    expect(renderHostname("appliance01.corp.example")).toEqual({ path: "/etc/hostname", content: "appliance01.corp.example\n", mode: 0o644 });
    expect(withHostsEntry("127.0.0.1\tlocalhost\n127.0.1.1\tbuildhost\n::1\tlocalhost ip6-localhost\n", "appliance01.corp.example")).toBe(
      "127.0.0.1\tlocalhost\n127.0.1.1\tappliance01.corp.example appliance01\n::1\tlocalhost ip6-localhost\n",
    );
    expect(withHostsEntry("127.0.0.1\tlocalhost\n", "box")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tbox\n");
  });
});
