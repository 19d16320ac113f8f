import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { captureIfupdown } from "../../agent/carry-over/capture-ifupdown.ts";
import type { CapturedConfig, CapturedInterface } from "../../agent/carry-over/captured-config.ts";
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
        message: "not carried: /etc/network/interfaces:16: dns-* lines of ens3, which have no effect: no installed hook passes dns-* lines on (resolvconf, or ifupdown's own to an enabled systemd-resolved)",
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
    expect(iface(findings, "eth0")?.ipv6).toBeUndefined();
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
