import type { CapturedConfig, CapturedInterface, CapturedRoute, DnsSettings } from "./captured-config.ts";
import { dnsCarrier } from "./dns-carrier.ts";
import type { RenderedFile } from "./rendered-file.ts";

const DIR = "/etc/systemd/network";

/**
 * systemd-networkd (systemd ≥ 250): a `.netdev` per bond, VLAN and bridge, a `.network` per interface.
 * networkd takes the first matching `.network` in lexical order: ours sort before the distribution's
 * and any cloud-init/netplan file (`01-`, `02-`), virtual devices before NICs.
 * A NIC is matched by PermanentMACAddress=: a bond gives its ports, and VLANs inherit, the same MAC at
 * runtime, so MACAddress= would also match the bond and its VLANs, and a second port no longer matches
 * its own once enslaved. Virtual devices have no permanent MAC and are matched by Name=.
 */
export function renderNetworkd(config: CapturedConfig): RenderedFile[] {
  const carrier = dnsCarrier(config.interfaces);
  const virtual = config.interfaces.filter((item) => item.kind !== "ethernet");
  const nics = config.interfaces.filter((item) => item.kind === "ethernet");
  return [
    ...virtual.map((item) => file(`01-va-${item.name}.netdev`, netdevFile(item))),
    ...[...virtual, ...nics].map((item) =>
      file(`${item.kind === "ethernet" ? "02" : "01"}-va-${item.name}.network`, networkFile(item, config.interfaces, item === carrier ? config.dns : undefined)),
    ),
  ].sort((a, b) => (a.path < b.path ? -1 : 1));
}

function file(name: string, sections: string[][]): RenderedFile {
  return { path: `${DIR}/${name}`, content: `${sections.filter((lines) => lines.length > 1).map((lines) => lines.join("\n")).join("\n\n")}\n`, mode: 0o644 };
}

function netdevFile(item: CapturedInterface): string[][] {
  return [["[NetDev]", `Name=${item.name}`, `Kind=${item.kind}`, ...(item.mac ? [`MACAddress=${item.mac}`] : [])], kindSection(item)];
}

function kindSection(item: CapturedInterface): string[] {
  if (item.bond) {
    const bond = item.bond;
    return [
      "[Bond]",
      `Mode=${bond.mode}`,
      ...(bond.miimon !== undefined ? [`MIIMonitorSec=${bond.miimon}ms`] : []),
      ...(bond.updelay !== undefined ? [`UpDelaySec=${bond.updelay}ms`] : []),
      ...(bond.downdelay !== undefined ? [`DownDelaySec=${bond.downdelay}ms`] : []),
      ...(bond.lacpRate ? [`LACPTransmitRate=${bond.lacpRate}`] : []),
      ...(bond.xmitHashPolicy ? [`TransmitHashPolicy=${bond.xmitHashPolicy}`] : []),
    ];
  }
  if (item.vlan) return ["[VLAN]", `Id=${item.vlan.id}`];
  if (item.bridge) return ["[Bridge]", `STP=${item.bridge.stp ? "yes" : "no"}`, ...(item.bridge.forwardDelay !== undefined ? [`ForwardDelaySec=${item.bridge.forwardDelay}`] : [])];
  return [];
}

function networkFile(item: CapturedInterface, all: CapturedInterface[], dns: DnsSettings | undefined): string[][] {
  const match = item.kind === "ethernet" && item.mac ? `PermanentMACAddress=${item.mac}` : `Name=${item.name}`;
  const addressless = !item.controller && !item.ipv4 && !item.ipv6;
  return [
    ["[Match]", match],
    [
      "[Link]",
      ...(item.mtu ? [`MTUBytes=${item.mtu}`] : []),
      ...(item.activation === "manual" ? ["ActivationPolicy=manual"] : []),
      // systemd-networkd-wait-online would wait for an address these never get.
      ...(item.activation === "manual" || addressless ? ["RequiredForOnline=no"] : []),
    ],
    ["[Network]", ...(item.controller ? portLines(item, all) : ipLines(item, all, dns))],
    ["[DHCPv4]", ...(item.ipv4?.dhcp && item.ipv4.neverDefault ? ["UseGateway=no"] : [])],
    ["[IPv6AcceptRA]", ...(item.ipv6?.autoconf && item.ipv6.neverDefault ? ["UseGateway=no"] : [])],
    // networkd's DHCPv6 client otherwise waits for a router advertisement asking for it
    ["[DHCPv6]", ...(item.ipv6?.dhcp && !item.controller ? ["WithoutRA=solicit"] : [])],
    ...gatewaySections(item),
    ...[...(item.ipv4?.routes ?? []), ...(item.ipv6?.routes ?? [])].map(routeSection),
  ];
}

function portLines(item: CapturedInterface, all: CapturedInterface[]): string[] {
  const controller = all.find((other) => other.name === item.controller);
  return [
    `${controller?.kind === "bridge" ? "Bridge" : "Bond"}=${item.controller}`,
    ...(controller?.bond?.primary === item.name ? ["PrimarySlave=yes"] : []),
    "LinkLocalAddressing=no",
  ];
}

function ipLines(item: CapturedInterface, all: CapturedInterface[], dns: DnsSettings | undefined): string[] {
  const { ipv4, ipv6 } = item;
  const dhcp = ipv4?.dhcp && ipv6?.dhcp ? "yes" : ipv4?.dhcp ? "ipv4" : ipv6?.dhcp ? "ipv6" : undefined;
  return [
    ...all.filter((other) => other.vlan?.parent === item.name).map((vlan) => `VLAN=${vlan.name}`),
    ...(dhcp ? [`DHCP=${dhcp}`] : []),
    `LinkLocalAddressing=${ipv6 ? "ipv6" : "no"}`,
    `IPv6AcceptRA=${ipv6?.autoconf ? "yes" : "no"}`,
    ...[...(ipv4?.addresses ?? []), ...(ipv6?.addresses ?? [])].map((a) => `Address=${a.address}/${a.prefix}`),
    ...(dns?.servers ?? []).map((server) => `DNS=${server}`),
    ...(dns?.search.length ? [`Domains=${dns.search.join(" ")}`] : []),
  ];
}

/** The default route of each family as a [Route] without Destination=, so that it can carry its metric. */
function gatewaySections(item: CapturedInterface): string[][] {
  return [item.ipv4?.gateway, item.ipv6?.gateway].flatMap((gateway) =>
    gateway ? [["[Route]", `Gateway=${gateway.via}`, ...(gateway.metric !== undefined ? [`Metric=${gateway.metric}`] : [])]] : [],
  );
}

function routeSection(route: CapturedRoute): string[] {
  return [
    "[Route]",
    `Destination=${route.to}`,
    ...(route.via ? [`Gateway=${route.via}`] : []),
    ...(route.onlink ? ["GatewayOnLink=yes"] : []),
    ...(route.metric !== undefined ? [`Metric=${route.metric}`] : []),
    ...(route.src ? [`PreferredSource=${route.src}`] : []),
    ...(route.table !== undefined ? [`Table=${route.table}`] : []),
    ...(route.scope ? [`Scope=${route.scope}`] : []),
    ...(route.type ? [`Type=${route.type}`] : []),
  ];
}
