import { createHash } from "node:crypto";
import type { CapturedConfig, CapturedGateway, CapturedInterface, CapturedIpv4, CapturedIpv6, CapturedRoute, DnsSettings } from "./captured-config.ts";
import { dnsCarrier } from "./dns-carrier.ts";
import { familyOf } from "./ip-address.ts";
import { NM_ETC_DIR } from "./nm-keyfile.ts";
import { SCOPE_NUMBERS } from "./nm-keyfile-ip.ts";
import type { RenderedFile } from "./rendered-file.ts";

type Family = "ipv4" | "ipv6";
type FamilyDns = { servers: string[]; search: string[] };

/**
 * One keyfile per interface. A NIC is bound by `mac-address` (the new OS may name it differently), a
 * virtual device by its name. Ports and VLANs use `master=`/`slave-type=` and `parent=`: every
 * NetworkManager reads them (`controller=`/`port-type=` only from 1.46 on, after EL9.3).
 */
export function renderNetworkManager(config: CapturedConfig): RenderedFile[] {
  const dns = placeDns(config.interfaces, config.dns);
  return config.interfaces.map((item) => ({
    path: `${NM_ETC_DIR}/va-${item.name}.nmconnection`,
    content: `${keyfile(item, config.interfaces, dns.get(item)).join("\n")}\n`,
    mode: 0o600,
  }));
}

function keyfile(item: CapturedInterface, all: CapturedInterface[], dns: Partial<Record<Family, FamilyDns>> | undefined): string[] {
  const lines = [...connectionSection(item, all), ...ethernetSection(item), ...kindSection(item, all)];
  if (!item.controller) lines.push(...ipv4Section(item.ipv4, dns?.ipv4), ...ipv6Section(item.ipv6, dns?.ipv6));
  return lines;
}

function connectionSection(item: CapturedInterface, all: CapturedInterface[]): string[] {
  const controller = all.find((other) => other.name === item.controller);
  return [
    "[connection]",
    `id=va-${item.name}`,
    `uuid=${uuidOf(item)}`,
    `type=${item.kind}`,
    ...(item.kind === "ethernet" ? [] : [`interface-name=${item.name}`]),
    ...(item.activation === "manual" ? ["autoconnect=false"] : []),
    // A controller outside the config has no known kind: without slave-type NetworkManager rejects the profile, never guesses.
    ...(item.controller ? [`master=${item.controller}`, ...(controller ? [`slave-type=${controller.kind}`] : [])] : []),
    "",
  ];
}

function ethernetSection(item: CapturedInterface): string[] {
  const mac = item.mac?.toUpperCase();
  const lines = [
    ...(item.kind === "ethernet" && mac ? [`mac-address=${mac}`] : []),
    ...((item.kind === "bond" || item.kind === "bridge") && mac ? [`cloned-mac-address=${mac}`] : []),
    ...(item.mtu ? [`mtu=${item.mtu}`] : []),
  ];
  return item.kind === "ethernet" || lines.length > 0 ? ["[ethernet]", ...lines, ""] : [];
}

function kindSection(item: CapturedInterface, all: CapturedInterface[]): string[] {
  if (item.bond) {
    const { mode, miimon, updelay, downdelay, lacpRate, xmitHashPolicy, primary } = item.bond;
    const options: [string, string | number | undefined][] = [["mode", mode], ["miimon", miimon], ["updelay", updelay], ["downdelay", downdelay], ["lacp_rate", lacpRate], ["xmit_hash_policy", xmitHashPolicy], ["primary", primary]];
    return ["[bond]", ...options.filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${value}`), ""];
  }
  if (item.bridge) return ["[bridge]", `stp=${item.bridge.stp}`, ...(item.bridge.forwardDelay !== undefined ? [`forward-delay=${item.bridge.forwardDelay}`] : []), ""];
  if (item.vlan) {
    // A NIC parent by its profile's UUID: NetworkManager finds the NIC that profile is bound to by MAC.
    const parent = all.find((other) => other.name === item.vlan!.parent);
    return ["[vlan]", `id=${item.vlan.id}`, `parent=${parent?.kind === "ethernet" ? uuidOf(parent) : item.vlan.parent}`, ""];
  }
  return [];
}

/** Absent = not configured on the old system: `disabled`, never NetworkManager's default `auto`. */
function ipv4Section(ipv4: CapturedIpv4 | undefined, dns: FamilyDns | undefined): string[] {
  if (!ipv4) return ["[ipv4]", "method=disabled", ""];
  const method = ipv4.dhcp ? "auto" : "manual";
  return ["[ipv4]", `method=${method}`, ...familyLines("ipv4", ipv4, dns), ""];
}

/**
 * `auto` accepts router advertisements (and runs DHCPv6 when they ask for it); `dhcp` is DHCPv6 alone;
 * neither and no address is link-local only. SLAAC forms EUI-64 addresses, as the kernel does by default.
 */
function ipv6Section(ipv6: CapturedIpv6 | undefined, dns: FamilyDns | undefined): string[] {
  if (!ipv6) return ["[ipv6]", "method=disabled", ""];
  const method = ipv6.autoconf ? "auto" : ipv6.dhcp ? "dhcp" : ipv6.addresses.length > 0 || ipv6.routes.length > 0 ? "manual" : "link-local";
  return ["[ipv6]", `method=${method}`, ...(ipv6.autoconf ? ["addr-gen-mode=eui64"] : []), ...familyLines("ipv6", ipv6, dns), ""];
}

function familyLines(family: Family, settings: CapturedIpv4 | CapturedIpv6, dns: FamilyDns | undefined): string[] {
  return [
    ...settings.addresses.map((a, i) => `address${i + 1}=${a.address}/${a.prefix}`),
    ...gatewayLines(settings.gateway),
    ...(settings.neverDefault ? ["never-default=true"] : []),
    ...settings.routes.flatMap((route, i) => routeLines(family, route, i + 1)),
    ...(dns?.servers.length ? [`dns=${dns.servers.join(";")};`] : []),
    ...(dns?.search.length ? [`dns-search=${dns.search.join(";")};`] : []),
  ];
}

function gatewayLines(gateway: CapturedGateway | undefined): string[] {
  if (!gateway) return [];
  return [`gateway=${gateway.via}`, ...(gateway.metric !== undefined ? [`route-metric=${gateway.metric}`] : [])];
}

/** `routeN=TO,VIA,METRIC` (an on-link route with a metric has the unspecified address as VIA, as NetworkManager writes it). */
function routeLines(family: Family, route: CapturedRoute, n: number): string[] {
  const via = route.via ?? (route.metric !== undefined ? (family === "ipv4" ? "0.0.0.0" : "::") : undefined);
  const main = [route.to, ...(via ? [via] : []), ...(route.metric !== undefined ? [String(route.metric)] : [])].join(",");
  const options = [
    ...(route.onlink ? ["onlink=true"] : []),
    ...(route.scope ? [`scope=${SCOPE_NUMBERS[route.scope]}`] : []),
    ...(route.src ? [`src=${route.src}`] : []),
    ...(route.table !== undefined ? [`table=${route.table}`] : []),
    ...(route.type ? [`type=${route.type}`] : []),
  ];
  return [`route${n}=${main}`, ...(options.length > 0 ? [`route${n}_options=${options.join(",")}`] : [])];
}

/**
 * NetworkManager takes a name server only in the section of its family, and rejects one where the
 * family is disabled: each family's servers go on the DNS carrier when it has that family, else on the
 * first interface up at boot that has it. Search domains go with the first servers placed.
 */
function placeDns(interfaces: CapturedInterface[], dns: DnsSettings): Map<CapturedInterface, Partial<Record<Family, FamilyDns>>> {
  const placed = new Map<CapturedInterface, Partial<Record<Family, FamilyDns>>>();
  const carrier = dnsCarrier(interfaces);
  const candidates = [...(carrier ? [carrier] : []), ...interfaces.filter((i) => i.activation === "boot" && !i.controller)];
  const holderOf = (family: Family) => candidates.find((i) => i[family]);
  let search = dns.search;
  for (const family of ["ipv4", "ipv6"] as const) {
    const servers = dns.servers.filter((server) => familyOf(server) === family);
    const holder = holderOf(family);
    if (servers.length === 0 || !holder) continue;
    placed.set(holder, { ...placed.get(holder), [family]: { servers, search } });
    search = [];
  }
  const family = holderOf("ipv4") ? "ipv4" : "ipv6";
  const holder = holderOf(family);
  if (search.length > 0 && holder) placed.set(holder, { ...placed.get(holder), [family]: { servers: [], search } });
  return placed;
}

/** Stable across re-runs of the step, so a resumed migration writes the same file; a NIC's as before format 2. */
function uuidOf(item: CapturedInterface): string {
  const hex = createHash("sha256").update(`va-agent:${item.kind === "ethernet" && item.mac ? item.mac : `${item.kind}:${item.name}`}`).digest("hex");
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
