import type { BondSettings, CapturedConfig, CapturedGateway, CapturedInterface, CapturedIpv4, CapturedIpv6, CapturedRoute, DnsSettings } from "./captured-config.ts";
import { dnsCarrier } from "./dns-carrier.ts";
import { defaultDestination } from "./ip-address.ts";
import { ipRouteWords } from "./ip-route.ts";
import { subnetContains } from "./ip-subnet.ts";
import type { RenderedFile } from "./rendered-file.ts";

const DIR = "/etc/sysconfig/network-scripts";
const HEADER = "# carried over from the old system by va-agent";

/**
 * EL7/EL8 ifcfg-NAME, route-NAME and route6-NAME files, read alike by initscripts and NetworkManager's
 * ifcfg-rh. A NIC's file has HWADDR and its old DEVICE name: initscripts' udev rule (60-net.rules,
 * rename_device) gives the NIC with that MAC that name before anything configures it, so route `dev`
 * words and a VLAN's PHYSDEV keep naming it, whatever the new OS would have called it.
 */
export function renderNetworkScripts(config: CapturedConfig): RenderedFile[] {
  const carrier = dnsCarrier(config.interfaces);
  return config.interfaces.flatMap((iface) => [
    file(`ifcfg-${iface.name}`, ifcfg(iface, config.interfaces, iface === carrier ? config.dns : undefined)),
    ...routeFile(`route-${iface.name}`, iface.name, iface.ipv4),
    ...routeFile(`route6-${iface.name}`, iface.name, iface.ipv6),
  ]);
}

function file(name: string, lines: string[]): RenderedFile {
  return { path: `${DIR}/${name}`, content: `${[HEADER, ...lines].join("\n")}\n`, mode: 0o644 };
}

function ifcfg(iface: CapturedInterface, all: CapturedInterface[], dns: DnsSettings | undefined): string[] {
  return [
    ...identity(iface),
    `ONBOOT=${iface.activation === "boot" ? "yes" : "no"}`,
    ...(iface.mtu !== undefined ? [`MTU=${iface.mtu}`] : []),
    ...kindLines(iface),
    ...(iface.controller ? portLines(iface.controller, all) : [...ipv4Lines(iface.ipv4), ...ipv6Lines(iface.name, iface.ipv6), ...dnsLines(dns)]),
  ];
}

const TYPES = { ethernet: "Ethernet", bond: "Bond", vlan: "Vlan", bridge: "Bridge" } as const;

function identity(iface: CapturedInterface): string[] {
  const mac = iface.mac ? [iface.kind === "ethernet" ? `HWADDR=${iface.mac}` : `MACADDR=${iface.mac}`] : [];
  return [`DEVICE=${iface.name}`, ...mac, `TYPE=${TYPES[iface.kind]}`];
}

function kindLines(iface: CapturedInterface): string[] {
  if (iface.bond) return ["BONDING_MASTER=yes", `BONDING_OPTS=${quote(bondingOpts(iface.bond))}`];
  if (iface.vlan) return ["VLAN=yes", `PHYSDEV=${iface.vlan.parent}`, `VLAN_ID=${iface.vlan.id}`];
  if (iface.bridge) return [`STP=${iface.bridge.stp ? "yes" : "no"}`, ...(iface.bridge.forwardDelay !== undefined ? [`DELAY=${iface.bridge.forwardDelay}`] : [])];
  return [];
}

function bondingOpts(bond: BondSettings): string {
  const options: [string, string | number | undefined][] = [
    ["mode", bond.mode],
    ["miimon", bond.miimon],
    ["updelay", bond.updelay],
    ["downdelay", bond.downdelay],
    ["lacp_rate", bond.lacpRate],
    ["xmit_hash_policy", bond.xmitHashPolicy],
    ["primary", bond.primary],
  ];
  return options.filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${value}`).join(" ");
}

function portLines(controller: string, all: CapturedInterface[]): string[] {
  const bridge = all.find((i) => i.name === controller)?.kind === "bridge";
  return ["BOOTPROTO=none", ...(bridge ? [`BRIDGE=${controller}`] : [`MASTER=${controller}`, "SLAVE=yes"])];
}

/**
 * METRIC is initscripts' default-route metric, IPV4_ROUTE_METRIC NetworkManager's: both are written.
 * A gateway outside every address's subnet goes to the route file, after the routes that reach it
 * (ifup-eth installs GATEWAY before ifup-routes runs, and only when it is on the first address's subnet).
 */
function ipv4Lines(ipv4: CapturedIpv4 | undefined): string[] {
  if (!ipv4) return ["BOOTPROTO=none"];
  const gateway = ipv4.gateway && onSubnet(ipv4, ipv4.gateway) ? ipv4.gateway : undefined;
  return [
    `BOOTPROTO=${ipv4.dhcp ? "dhcp" : "none"}`,
    ...ipv4.addresses.flatMap((a, i) => [`IPADDR${i}=${a.address}`, `PREFIX${i}=${a.prefix}`]),
    ...(gateway ? [`GATEWAY=${gateway.via}`] : []),
    ...(gateway?.metric !== undefined ? [`METRIC=${gateway.metric}`, `IPV4_ROUTE_METRIC=${gateway.metric}`] : []),
    ...(ipv4.neverDefault ? ["DEFROUTE=no"] : []),
  ];
}

/**
 * IPV6_DEFAULTGW carries a `%NAME` scope for a link-local router (required by ifup-ipv6). Its metric is
 * NetworkManager's IPV6_ROUTE_METRIC; initscripts has no such key, so a gateway with a metric goes to the
 * route6 file, which both read.
 */
function ipv6Lines(name: string, ipv6: CapturedIpv6 | undefined): string[] {
  if (!ipv6) return ["IPV6INIT=no"];
  const [first, ...rest] = ipv6.addresses.map((a) => `${a.address}/${a.prefix}`);
  const gateway = ipv6.gateway && gatewayInIfcfg(ipv6, ipv6.gateway) ? ipv6.gateway : undefined;
  return [
    "IPV6INIT=yes",
    `IPV6_AUTOCONF=${ipv6.autoconf ? "yes" : "no"}`,
    ...(ipv6.dhcp ? ["DHCPV6C=yes"] : []),
    ...(first ? [`IPV6ADDR=${first}`] : []),
    ...(rest.length ? [`IPV6ADDR_SECONDARIES=${quote(rest.join(" "))}`] : []),
    ...(gateway ? [`IPV6_DEFAULTGW=${gateway.via}${isLinkLocal(gateway.via) ? `%${name}` : ""}`] : []),
    ...(ipv6.neverDefault ? ["IPV6_DEFROUTE=no"] : []),
  ];
}

function gatewayInIfcfg(ipv6: CapturedIpv6, gateway: CapturedGateway): boolean {
  return gateway.metric === undefined && (isLinkLocal(gateway.via) || onSubnet(ipv6, gateway));
}

function isLinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

function onSubnet(family: CapturedIpv4 | CapturedIpv6, gateway: CapturedGateway): boolean {
  return family.addresses.some((a) => subnetContains(a, gateway.via));
}

function dnsLines(dns: DnsSettings | undefined): string[] {
  if (!dns) return [];
  return [...dns.servers.map((server, i) => `DNS${i + 1}=${server}`), ...(dns.search.length ? [`DOMAIN=${quote(dns.search.join(" "))}`] : [])];
}

function routeFile(name: string, dev: string, family: CapturedIpv4 | CapturedIpv6 | undefined): RenderedFile[] {
  const routes = family ? [...family.routes, ...gatewayRoute(family)] : [];
  return routes.length ? [file(name, routes.map((route) => ipRouteWords(route, dev).join(" ")))] : [];
}

/** The gateway as a `default` route when the ifcfg file cannot carry it (see ipv4Lines, ipv6Lines). */
function gatewayRoute(family: CapturedIpv4 | CapturedIpv6): CapturedRoute[] {
  const gateway = family.gateway;
  if (!gateway) return [];
  const inIfcfg = "autoconf" in family ? gatewayInIfcfg(family, gateway) : onSubnet(family, gateway);
  if (inIfcfg) return [];
  const to = defaultDestination("autoconf" in family ? "ipv6" : "ipv4");
  return [{ to, via: gateway.via, ...(gateway.metric !== undefined ? { metric: gateway.metric } : {}) }];
}

/** Double quotes for values with spaces; the rendered values hold no quote, `$`, backslash or backtick. */
function quote(value: string): string {
  return /^[A-Za-z0-9_.:/+=%,-]*$/.test(value) ? value : `"${value}"`;
}
