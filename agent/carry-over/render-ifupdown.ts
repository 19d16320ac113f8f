import type { CapturedConfig, CapturedGateway, CapturedInterface, DnsSettings } from "./captured-config.ts";
import { dnsCarrier } from "./dns-carrier.ts";
import { ipRouteWords } from "./ip-route.ts";
import type { RenderedFile } from "./rendered-file.ts";

export const IFUPDOWN_CARRIED_FILE = "/etc/network/interfaces.d/va-carried";

/**
 * ifupdown configures interfaces by name, so each NIC first gets its old name back: a systemd .link
 * file matched by MAC, applied by udev before ifupdown runs. Then one file of stanzas, ports and VLAN
 * parents before the interfaces built on them (`ifup -a` follows the order of the `auto` lines).
 */
export function renderIfupdown(config: CapturedConfig): RenderedFile[] {
  const links = config.interfaces
    .filter((item) => item.kind === "ethernet" && item.mac)
    .map((item) => ({
      path: `/etc/systemd/network/10-va-${item.name}.link`,
      content: `[Match]\nMACAddress=${item.mac}\n\n[Link]\nName=${item.name}\n`,
      mode: 0o644,
    }));
  if (config.interfaces.length === 0) return links;
  const carrier = dnsCarrier(config.interfaces);
  const stanzas = upOrder(config.interfaces).map((item) => interfaceStanzas(item, config.interfaces, item === carrier ? config.dns : undefined));
  const content = ["# carried over from the old system by va-agent", "", ...stanzas].join("\n");
  return [...links, { path: IFUPDOWN_CARRIED_FILE, content, mode: 0o644 }];
}

/** Packages whose ifupdown hooks the rendered options need (ifupdown itself creates `PARENT.ID` VLANs). */
export function ifupdownPackagesNeeded(config: CapturedConfig): string[] {
  const needed = new Set<string>();
  for (const item of config.interfaces) {
    if (item.kind === "bond") needed.add("ifenslave");
    if (item.kind === "bridge") needed.add("bridge-utils");
    if (item.vlan && !isDottedVlanName(item)) needed.add("vlan");
  }
  return [...needed].sort();
}

/** What the rendered stanzas cannot say: the step refuses or warns before writing them. */
export function ifupdownRefusals(config: CapturedConfig): string[] {
  return config.interfaces.flatMap((item) => [
    ...(item.ipv4?.neverDefault ? [`${item.name}: DHCP without installing its default route (neverDefault) cannot be said in ifupdown`] : []),
    ...(item.ipv6?.neverDefault ? [`${item.name}: IPv6 without installing the router's default route (neverDefault) cannot be said in ifupdown`] : []),
    ...(item.vlan && !isDottedVlanName(item) && !isVlanPackageName(item)
      ? [`${item.name}: a VLAN is created by ifupdown only when named ${item.vlan.parent}.${item.vlan.id}, or vlan${item.vlan.id} / vlan${String(item.vlan.id).padStart(4, "0")} with the vlan package`]
      : []),
  ]);
}

function isDottedVlanName(item: CapturedInterface): boolean {
  return item.vlan !== undefined && item.name === `${item.vlan.parent}.${item.vlan.id}`;
}

/** The vlan package's hook: `vlanN` or `vlan0NNN` takes its id from the name and its parent from vlan-raw-device. */
function isVlanPackageName(item: CapturedInterface): boolean {
  const numbered = /^vlan0*(\d+)$/.exec(item.name);
  return item.vlan !== undefined && numbered !== null && Number(numbered[1]) === item.vlan.id;
}

function upOrder(interfaces: CapturedInterface[]): CapturedInterface[] {
  const ordered: CapturedInterface[] = [];
  const visit = (item: CapturedInterface, path: Set<string>) => {
    if (ordered.includes(item) || path.has(item.name)) return;
    path.add(item.name);
    const below = interfaces.filter((other) => other.controller === item.name || other.name === item.vlan?.parent);
    for (const other of below) visit(other, path);
    ordered.push(item);
  };
  for (const item of interfaces) visit(item, new Set());
  return ordered;
}

function interfaceStanzas(item: CapturedInterface, all: CapturedInterface[], dns: DnsSettings | undefined): string {
  const ipv4 = item.ipv4;
  const [first, ...more] = ipv4 && !ipv4.dhcp ? ipv4.addresses : [];
  const method = ipv4?.dhcp ? "dhcp" : first ? "static" : "manual";
  const options = [
    ...(first ? [`address ${first.address}/${first.prefix}`] : []),
    ...(method === "static" && ipv4?.gateway ? gatewayOptions(ipv4.gateway) : []),
    ...linkOptions(item, all),
    ...(dns?.servers.length ? [`dns-nameservers ${dns.servers.join(" ")}`] : []),
    ...(dns?.search.length ? [`dns-search ${dns.search.join(" ")}`] : []),
    ...(method !== "static" && ipv4?.gateway ? [defaultRouteHook("ip", ipv4.gateway, item.name)] : []),
    ...(ipv4?.routes ?? []).map((route) => `up ip route add ${ipRouteWords(route, item.name).join(" ")}`),
  ];
  const extra = ipv4?.dhcp ? ipv4.addresses : more;
  return [
    ...(item.activation === "boot" ? [`auto ${item.name}`] : []),
    stanza(item.name, `inet ${method}`, options),
    ...extra.map((address) => stanza(item.name, "inet static", [`address ${address.address}/${address.prefix}`])),
    ...inet6Stanzas(item),
  ].join("\n");
}

function stanza(name: string, familyAndMethod: string, options: string[]): string {
  return [`iface ${name} ${familyAndMethod}`, ...options.map((option) => `    ${option}`), ""].join("\n");
}

function gatewayOptions(gateway: CapturedGateway): string[] {
  return [`gateway ${gateway.via}`, ...(gateway.metric !== undefined ? [`metric ${gateway.metric}`] : [])];
}

function defaultRouteHook(ip: string, gateway: CapturedGateway, dev: string): string {
  return `up ${ip} route add default via ${gateway.via} dev ${dev}${gateway.metric !== undefined ? ` metric ${gateway.metric}` : ""}`;
}

/** MTU, a virtual device's MAC, and what ifenslave, bridge-utils and the VLAN code read. */
function linkOptions(item: CapturedInterface, all: CapturedInterface[]): string[] {
  const ports = all.filter((other) => other.controller === item.name).map((other) => other.name);
  const bond = item.kind === "bond" ? item.bond : undefined;
  const bridge = item.kind === "bridge" ? item.bridge : undefined;
  return [
    ...(item.mtu ? [`mtu ${item.mtu}`] : []),
    ...(item.mac && item.kind !== "ethernet" ? [`hwaddress ether ${item.mac}`] : []),
    ...(bond
      ? [
          `bond-slaves ${ports.join(" ") || "none"}`,
          `bond-mode ${bond.mode}`,
          ...(bond.miimon !== undefined ? [`bond-miimon ${bond.miimon}`] : []),
          ...(bond.updelay !== undefined ? [`bond-updelay ${bond.updelay}`] : []),
          ...(bond.downdelay !== undefined ? [`bond-downdelay ${bond.downdelay}`] : []),
          ...(bond.lacpRate ? [`bond-lacp-rate ${bond.lacpRate}`] : []),
          ...(bond.xmitHashPolicy ? [`bond-xmit-hash-policy ${bond.xmitHashPolicy}`] : []),
          ...(bond.primary ? [`bond-primary ${bond.primary}`] : []),
        ]
      : []),
    ...(bridge
      ? [`bridge_ports ${ports.join(" ") || "none"}`, `bridge_stp ${bridge.stp ? "on" : "off"}`, ...(bridge.forwardDelay !== undefined ? [`bridge_fd ${bridge.forwardDelay}`] : [])]
      : []),
    ...(item.vlan && !isDottedVlanName(item) ? [`vlan-raw-device ${item.vlan.parent}`, ...(isVlanPackageName(item) ? [] : [`vlan-id ${item.vlan.id}`])] : []),
  ];
}

/**
 * Without an inet6 stanza ifupdown leaves the kernel's defaults, which accept router advertisements:
 * an interface the model gives no IPv6 says `accept_ra 0` (a port has no IP of its own). Every
 * stanza states accept_ra and autoconf: inet6.defn's defaults differ per method and a later stanza
 * would otherwise reset what an earlier one set.
 */
function inet6Stanzas(item: CapturedInterface): string[] {
  const ipv6 = item.ipv6;
  if (!ipv6) return item.controller ? [] : [stanza(item.name, "inet6 auto", ["accept_ra 0"])];
  const [first, ...more] = ipv6.dhcp ? [] : ipv6.addresses;
  const method = ipv6.dhcp ? "dhcp" : first ? "static" : "auto";
  const ra = ipv6.autoconf ? "1" : "0";
  const flags = method === "auto" ? (ipv6.autoconf ? [] : ["accept_ra 0"]) : [`accept_ra ${ra}`, `autoconf ${ra}`];
  const options = [
    ...(first ? [`address ${first.address}/${first.prefix}`] : []),
    ...(method === "static" && ipv6.gateway ? gatewayOptions(ipv6.gateway) : []),
    ...flags,
    ...(method !== "static" && ipv6.gateway ? [defaultRouteHook("ip -6", ipv6.gateway, item.name)] : []),
    ...ipv6.routes.map((route) => `up ip -6 route add ${ipRouteWords(route, item.name).join(" ")}`),
  ];
  const extra = ipv6.dhcp ? ipv6.addresses : more;
  return [
    stanza(item.name, `inet6 ${method}`, options),
    ...extra.map((address) => stanza(item.name, "inet6 static", [`address ${address.address}/${address.prefix}`, `accept_ra ${ra}`, `autoconf ${ra}`])),
  ];
}

/** Debian's default interfaces file sources interfaces.d; an older or edited one may not. */
export function withInterfacesDirSourced(interfacesText: string): string {
  if (/^\s*source(-directory)?\s+\/etc\/network\/interfaces\.d/m.test(interfacesText)) return interfacesText;
  const text = interfacesText === "" || interfacesText.endsWith("\n") ? interfacesText : `${interfacesText}\n`;
  return `${text}source ${IFUPDOWN_CARRIED_FILE}\n`;
}
