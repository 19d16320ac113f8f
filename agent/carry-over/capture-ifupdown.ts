import type { BondSettings, BridgeSettings, CapturedAddress, CapturedIpv4, CapturedIpv6, CapturedRoute, InterfaceKind } from "./captured-config.ts";
import { type IfupdownOption, readInterfacesFiles, type Stanza } from "./ifupdown-file.ts";
import { HOOK_KEYS, hookMeaning } from "./ifupdown-hooks.ts";
import { familyOf, isIp, parseCidr, prefixFromNetmask } from "./ip-address.ts";
import { addUnique, emptyFindings, type FoundInterface, type NetworkFindings, normalizeMac, notCarried } from "./network-findings.ts";
import { listRootDir, readRootFile } from "./root-files.ts";

const INTERFACES = "/etc/network/interfaces";
const METHODS: Record<string, string[]> = { inet: ["static", "dhcp", "manual"], inet6: ["static", "dhcp", "auto", "manual"] };
const BOND_MODES = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];
/** In the kernel's numbering (bonding.txt), so `bond-xmit-hash-policy 1` reads as layer3+4. */
const XMIT_HASH_POLICIES = ["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"];
const BOND_KEYS = ["bond-slaves", "bond-master", "bond-mode", "bond-miimon", "bond-lacp-rate", "bond-xmit-hash-policy", "bond-primary", "bond-updelay", "bond-downdelay"];
/** inet.defn and inet6.defn: the options of each method (link options and hooks apart). */
const METHOD_OPTIONS: Record<string, string[]> = {
  "inet static": ["address", "netmask", "broadcast", "gateway", "metric", "pointopoint", "scope", "media"],
  "inet dhcp": ["metric", "hostname", "leasehours", "leasetime", "vendor", "client"],
  "inet6 static": ["address", "netmask", "gateway", "metric", "accept-ra", "autoconf", "privext", "scope", "preferred-lifetime", "dad-attempts", "media"],
  "inet6 auto": ["privext", "accept-ra", "dhcp", "request-prefix"],
  "inet6 dhcp": ["accept-ra", "autoconf", "request-prefix"],
};
const FAMILY_KEYS = Object.values(METHOD_OPTIONS).flat();
const LINK_KEYS = ["mtu", "hwaddress", "bridge-ports", "bridge-stp", "bridge-fd", "bridge-vlan-aware", "bridge-vids", "vlan-raw-device", "vlan-id"];
const DNS_KEYS = ["dns-nameservers", "dns-nameserver", "dns-search", "dns-domain"];
/** Options that change nothing the booted system keeps (descriptions, waits, an obsolete `network`). */
const HARMLESS = ["description", "network", "bridge-maxwait", "bridge-waitport", "dad-interval", "ll-attempts", "ll-interval"];
const KNOWN_KEYS = new Set([...BOND_KEYS, ...FAMILY_KEYS, ...LINK_KEYS, ...DNS_KEYS, ...HARMLESS, ...HOOK_KEYS]);

/** Everything the stanzas of one interface (and its `NAME:label` aliases) say, before its kind is known. */
interface Building {
  name: string;
  source: string;
  atBoot: boolean;
  mtu?: number;
  hwaddress?: { mac: string; where: string };
  ipv4?: CapturedIpv4;
  ipv6?: CapturedIpv6;
  /** The kernel's IPv6 sysctls as the inet6 stanzas leave them, in order (see ipv6State). */
  acceptRa: number;
  slaac: number;
  bondOptions: IfupdownOption[];
  bondSlaves?: string[];
  bondMaster?: string;
  bridgePorts?: string[];
  bridge?: BridgeSettings;
  vlanRawDevice?: string;
  vlanId?: number;
}

interface Context {
  root: string;
  findings: NetworkFindings;
  interfaces: Map<string, Building>;
  dnsReaders: DnsReaders;
}

/**
 * Debian ifupdown (and Proxmox's ifupdown2, which reads the same file): /etc/network/interfaces with
 * what it sources. NICs come out by name only; resolve-interfaces gives them their MAC.
 */
export function captureIfupdown(root: string): NetworkFindings {
  const findings = emptyFindings();
  const files = readInterfacesFiles(root, INTERFACES);
  findings.warnings.push(...files.warnings);
  const ctx: Context = { root, findings, interfaces: new Map(), dnsReaders: dnsReaders(root) };
  for (const stanza of files.stanzas) readStanza(ctx, stanza, files.atBoot);
  for (const [name, where] of files.otherClasses) {
    if (!files.atBoot.has(name)) findings.warnings.push(notCarried("ifupdown-allow-class", `${where}: ${name} is brought up only by \`ifup --allow\` of that class; carried as not brought up at boot`, name));
  }
  findings.interfaces.push(...assemble(ctx));
  return findings;
}

function readStanza(ctx: Context, stanza: Stanza, atBoot: Set<string>): void {
  const { name, family, method } = stanza;
  const base = name.split(":")[0]!;
  const warn = (id: string, message: string) => {
    ctx.findings.warnings.push(notCarried(id, `${stanza.where}: ${message}`, interfaceLabel(base)));
  };
  if (base === "lo") return readLoopback(ctx, stanza, atBoot.has("lo"));
  if (!interfaceLabel(base)) return warn("ifupdown-interface-name", `"${name}" is not an interface name`);
  if (!METHODS[family]?.includes(method)) return warn("ifupdown-method", `iface ${name} ${family} ${method}: this family or method is not carried`);
  if (stanza.rest.length > 0) return warn("ifupdown-inherits", `iface ${name} ${family} ${method} ${stanza.rest.join(" ")}: templates (inherits) are not carried`);
  const building = buildingFor(ctx, base, stanza.where);
  if (atBoot.has(name)) building.atBoot = true;
  warnUnusedOptions(ctx, base, stanza);
  readLinkOptions(ctx, building, stanza);
  if (family === "inet") readInet(ctx, building, stanza);
  else readInet6(ctx, building, stanza);
  readHooks(ctx, building, stanza);
  readDns(ctx, stanza, building.atBoot || atBoot.has(name));
}

/** `lo` is the kernel's; only its dns-* lines (where cloud-init puts the global DNS) and hooks count. */
/** ifupdown passes options it does not know to the hooks, which may not read them either: each is named. */
function warnUnusedOptions(ctx: Context, name: string, stanza: Stanza): void {
  const methodOptions = METHOD_OPTIONS[`${stanza.family} ${stanza.method}`] ?? [];
  for (const found of stanza.options) {
    if (!KNOWN_KEYS.has(found.key)) warnOption(ctx, name, found, found.key.startsWith("bond-") || found.key.startsWith("bridge-") ? "bond or bridge option" : "option");
    else if (FAMILY_KEYS.includes(found.key) && !methodOptions.includes(found.key)) {
      warnOption(ctx, name, found, `option of no effect in \`${stanza.family} ${stanza.method}\` (ifupdown2 may apply it)`);
    }
  }
}

function readLoopback(ctx: Context, stanza: Stanza, atBoot: boolean): void {
  readDns(ctx, stanza, atBoot);
  for (const option of stanza.options) {
    if (HOOK_KEYS.has(option.key) && hookMeaning(option.key, option.value, "lo").kind !== "cleanup") customHook(ctx, "lo", option);
  }
}

function buildingFor(ctx: Context, name: string, where: string): Building {
  let building = ctx.interfaces.get(name);
  if (!building) {
    building = { name, source: where.replace(/:\d+$/, ""), atBoot: false, acceptRa: 1, slaac: 1, bondOptions: [] };
    ctx.interfaces.set(name, building);
  }
  return building;
}

function readLinkOptions(ctx: Context, building: Building, stanza: Stanza): void {
  for (const option of stanza.options) {
    const { key, value } = option;
    if (key === "mtu") building.mtu ??= integerIn(ctx, building.name, option, 68, 65535);
    else if (key === "hwaddress") readHwaddress(ctx, building, option);
    else if (key === "bond-slaves") building.bondSlaves = value === "none" ? [] : value.split(/\s+/);
    else if (key === "bond-master") building.bondMaster = value;
    else if (key.startsWith("bond-") && BOND_KEYS.includes(key)) building.bondOptions.push(option);
    else if (key === "bridge-ports") readBridgePorts(ctx, building, option);
    else if (key === "bridge-stp") {
      const stp = /^(on|yes|1)$/.test(value) ? true : /^(off|no|0)$/.test(value) ? false : warnValue(ctx, building.name, option);
      if (stp !== undefined) building.bridge = { ...(building.bridge ?? { stp: false }), stp };
    }
    else if (key === "bridge-fd") {
      const forwardDelay = integerIn(ctx, building.name, option, 0, 30);
      if (forwardDelay !== undefined) building.bridge = { ...(building.bridge ?? { stp: false }), forwardDelay };
    } else if (key === "bridge-vlan-aware" && /^(yes|on|1)$/.test(value)) {
      const vids = stanza.options.find((o) => o.key === "bridge-vids")?.value;
      ctx.findings.warnings.push(notCarried("bridge-vlan-aware", `${option.where}: ${building.name} is a VLAN-aware bridge${vids ? ` (bridge-vids ${vids})` : ""}: VLAN filtering is not carried, the bridge is carried without it`, building.name));
    } else if (key === "vlan-raw-device") building.vlanRawDevice = value;
    else if (key === "vlan-id") building.vlanId = integerIn(ctx, building.name, option, 0, 4094);
  }
}

/**
 * `hwaddress [ether] MAC` sets the device's address. A bond, bridge or VLAN keeps it as its `mac`; a
 * NIC is bound by its own MAC, so its override cannot be carried (and is said so at assembly).
 */
function readHwaddress(ctx: Context, building: Building, option: IfupdownOption): void {
  const words = option.value.split(/\s+/);
  const mac = normalizeMac(words[0] === "ether" ? words[1] : words[0]);
  if (!mac) return warnValue(ctx, building.name, option);
  building.hwaddress ??= { mac, where: option.where };
}

function readBridgePorts(ctx: Context, building: Building, option: IfupdownOption): void {
  const ports = option.value === "none" ? [] : option.value.split(/\s+/);
  const unknown = ports.filter((port) => !interfaceLabel(port));
  if (unknown.length > 0) ctx.findings.warnings.push(notCarried("bridge-ports", `${option.where}: bridge_ports ${option.value} of ${building.name}: "${unknown.join(" ")}" is not an interface name (regexes and \`all\` are not carried)`, building.name));
  building.bridgePorts = ports.filter((port) => interfaceLabel(port));
}

function readInet(ctx: Context, building: Building, stanza: Stanza): void {
  if (stanza.method === "manual") return;
  const ipv4 = (building.ipv4 ??= { dhcp: false, addresses: [], routes: [] });
  if (stanza.method === "dhcp") {
    ipv4.dhcp = true;
    for (const key of ["metric", "hostname", "leasehours", "leasetime", "vendor", "client"]) {
      const found = option(stanza, key);
      if (found) warnOption(ctx, building.name, found, "DHCP client option");
    }
    return;
  }
  for (const key of ["pointopoint", "scope", "media"]) {
    const found = option(stanza, key);
    if (found && !(key === "scope" && found.value === "global")) warnOption(ctx, building.name, found, "option");
  }
  const parsed = staticAddress(ctx, building.name, stanza, "ipv4");
  if (parsed) ipv4.addresses.push(parsed);
  readBroadcast(ctx, building.name, stanza, parsed);
  readGateway(ctx, building.name, stanza, ipv4, "ipv4");
}

/** `inet6 manual` writes no sysctl: like no inet6 stanza at all, the kernel's defaults stay (see toFound). */
function readInet6(ctx: Context, building: Building, stanza: Stanza): void {
  if (stanza.method === "manual") return;
  const ipv6 = ipv6Of(building);
  const flag = (key: string) => {
    const found = option(stanza, key);
    return found ? integerIn(ctx, building.name, found, 0, 2) : undefined;
  };
  const acceptRa = flag("accept-ra");
  const autoconf = flag("autoconf");
  const gateway = option(stanza, "gateway");
  ipv6State(building, stanza.method, acceptRa, autoconf, gateway !== undefined);
  if (stanza.method === "dhcp") ipv6.dhcp = true;
  if (stanza.method === "auto" && flag("dhcp") === 1) {
    ctx.findings.warnings.push(notCarried("dhcpv6-stateless", `${stanza.where}: ${building.name} asks stateless DHCPv6 (dhcp 1) for name servers and other options; only the router advertisements are carried`, building.name));
  }
  if ((flag("privext") ?? 0) > 0) warnOption(ctx, building.name, option(stanza, "privext")!, "IPv6 privacy extensions (temporary addresses)");
  const prefix = option(stanza, "request-prefix");
  if (prefix && prefix.value !== "0") warnOption(ctx, building.name, prefix, "DHCPv6 prefix delegation");
  for (const key of ["scope", "preferred-lifetime", "media"]) {
    const found = option(stanza, key);
    if (found && !(key === "scope" && found.value === "global")) warnOption(ctx, building.name, found, "option");
  }
  const dadAttempts = option(stanza, "dad-attempts");
  if (dadAttempts?.value === "0") warnOption(ctx, building.name, dadAttempts, "duplicate address detection turned off");
  if (stanza.method !== "static") return;
  const parsed = staticAddress(ctx, building.name, stanza, "ipv6");
  if (parsed) ipv6.addresses.push(parsed);
  readGateway(ctx, building.name, stanza, ipv6, "ipv6");
}

/**
 * inet6.defn's sysctls, stanza after stanza: `static` writes autoconf (default 0) and accept_ra when
 * given, or 0 when a gateway is; `auto` writes autoconf=1 and accept_ra (default 2); `dhcp` writes
 * accept_ra (default 1) and autoconf when given. Untouched, the kernel's defaults stay: accept_ra=1
 * and autoconf=1 on a host that does not forward. The model's `autoconf` is both at once.
 */
function ipv6State(building: Building, method: string, acceptRa: number | undefined, autoconf: number | undefined, hasGateway: boolean): void {
  if (method === "static") {
    building.acceptRa = acceptRa ?? (hasGateway ? 0 : building.acceptRa);
    building.slaac = autoconf ?? 0;
  } else if (method === "auto") {
    building.acceptRa = acceptRa ?? 2;
    building.slaac = 1;
  } else if (method === "dhcp") {
    building.acceptRa = acceptRa ?? 1;
    building.slaac = autoconf ?? building.slaac;
  }
}

function staticAddress(ctx: Context, name: string, stanza: Stanza, family: "ipv4" | "ipv6"): CapturedAddress | undefined {
  const address = option(stanza, "address");
  if (!address) {
    ctx.findings.warnings.push(notCarried("ifupdown-invalid-value", `${stanza.where}: iface ${stanza.name} ${stanza.family} static has no address`, name));
    return undefined;
  }
  const netmask = option(stanza, "netmask");
  const prefix = netmask ? (/^\d{1,3}$/.test(netmask.value) ? Number(netmask.value) : family === "ipv4" ? prefixFromNetmask(netmask.value) : undefined) : undefined;
  if (netmask && prefix === undefined) warnValue(ctx, name, netmask);
  // Without a netmask ifupdown runs `ip addr add ADDRESS`: ip's /32 and /128.
  const parsed = parseCidr(address.value, prefix ?? (family === "ipv4" ? 32 : 128));
  if (!parsed || familyOf(parsed.address) !== family) return warnValue(ctx, name, address);
  return parsed;
}

/** The broadcast ifupdown computes (`+`, the default) is the only one the model keeps. */
function readBroadcast(ctx: Context, name: string, stanza: Stanza, address: CapturedAddress | undefined): void {
  const broadcast = option(stanza, "broadcast");
  if (!broadcast || broadcast.value === "+" || !address) return;
  if (broadcast.value !== broadcastOf(address)) warnOption(ctx, name, broadcast, "broadcast address other than the computed one");
}

function broadcastOf({ address, prefix }: CapturedAddress): string {
  const value = address.split(".").reduce((sum, part) => sum * 256 + Number(part), 0);
  const host = prefix === 32 ? 0 : 2 ** (32 - prefix) - 1;
  const broadcast = (value - (value % (host + 1))) + host;
  return [24, 16, 8, 0].map((shift) => Math.floor(broadcast / 2 ** shift) % 256).join(".");
}

function readGateway(ctx: Context, name: string, stanza: Stanza, family: CapturedIpv4 | CapturedIpv6, kind: "ipv4" | "ipv6"): void {
  const gateway = option(stanza, "gateway");
  if (!gateway) return;
  if (familyOf(gateway.value) !== kind) return void warnValue(ctx, name, gateway);
  const metricOption = option(stanza, "metric");
  const metric = metricOption ? integerIn(ctx, name, metricOption, 0, 4294967295) : undefined;
  if (family.gateway && family.gateway.via !== gateway.value) return warnOption(ctx, name, gateway, `second default gateway (${family.gateway.via} is carried)`);
  family.gateway ??= { via: gateway.value, ...(metric !== undefined ? { metric } : {}) };
}

function readHooks(ctx: Context, building: Building, stanza: Stanza): void {
  for (const hook of stanza.options.filter((o) => HOOK_KEYS.has(o.key))) {
    const meaning = hookMeaning(hook.key, hook.value, stanza.name);
    if (meaning.kind === "cleanup") continue;
    if (meaning.kind === "custom") customHook(ctx, building.name, hook);
    else if (meaning.kind === "error") warnOption(ctx, building.name, hook, `command (${meaning.message})`);
    else if (meaning.dev !== undefined && meaning.dev.split(":")[0] !== building.name) warnOption(ctx, building.name, hook, `command for another interface (${meaning.dev})`);
    else if (meaning.kind === "address") hookAddress(building, meaning.address);
    else hookRoute(building, meaning.route, meaning.isDefault);
  }
}

function hookAddress(building: Building, address: CapturedAddress): void {
  if (familyOf(address.address) === "ipv4") (building.ipv4 ??= { dhcp: false, addresses: [], routes: [] }).addresses.push(address);
  else ipv6Of(building).addresses.push(address);
}

/** A default route of the main table is the family's gateway (the first one); any other is a route. */
function hookRoute(building: Building, route: CapturedRoute, isDefault: boolean): void {
  const family = familyOf(route.to.split("/")[0]!) === "ipv4" ? (building.ipv4 ??= { dhcp: false, addresses: [], routes: [] }) : ipv6Of(building);
  const plainDefault = isDefault && route.via && route.table === undefined && !route.type && !route.src && !route.scope;
  if (plainDefault && !family.gateway) family.gateway = { via: route.via!, ...(route.metric !== undefined ? { metric: route.metric } : {}) };
  else family.routes.push(route);
}

function customHook(ctx: Context, name: string, hook: IfupdownOption): void {
  ctx.findings.warnings.push(notCarried("custom-hook", `${hook.where}: ${name} runs \`${hook.key} ${hook.value}\``, name));
}

/** Which ifupdown hooks pass dns-* lines on: resolvconf's (any interface) or ifupdown's own to an enabled systemd-resolved (not lo). */
interface DnsReaders {
  resolvconf: boolean;
  resolved: boolean;
}

function dnsReaders(root: string): DnsReaders {
  const hooks = listRootDir(root, "/etc/network/if-up.d");
  const resolvedEnabled = ["multi-user.target.wants", "sysinit.target.wants"].some((dir) => readRootFile(root, `/etc/systemd/system/${dir}/systemd-resolved.service`) !== undefined);
  return { resolvconf: hooks.some((name) => name.includes("resolvconf")), resolved: hooks.includes("resolved") && resolvedEnabled };
}

function readDns(ctx: Context, stanza: Stanza, atBoot: boolean): void {
  const lines = stanza.options.filter((o) => o.key.startsWith("dns-"));
  if (lines.length === 0) return;
  const name = stanza.name.split(":")[0]!;
  const readers = ctx.dnsReaders;
  const read = readers.resolvconf || (readers.resolved && name !== "lo");
  if (!read) {
    // Nothing is lost: the lines never reached the resolver, which read /etc/resolv.conf alone.
    const message = `${lines[0]!.where}: dns-* lines of ${stanza.name} have no effect and are left out: no installed hook passes them on (resolvconf, or ifupdown's own to an enabled systemd-resolved); the resolver reads /etc/resolv.conf`;
    ctx.findings.warnings.push({ id: "dns-not-applied", message, ...(interfaceLabel(name) ? { interface: name } : {}) });
    return;
  }
  if (!atBoot) {
    ctx.findings.warnings.push(notCarried("dns-not-applied", `${lines[0]!.where}: dns-* lines of ${stanza.name}, which is not brought up at boot: they would reach the resolver when it is brought up by hand`, interfaceLabel(name)));
    return;
  }
  const words = (keys: string[]) => lines.filter((o) => keys.includes(o.key)).flatMap((o) => o.value.split(/[\s,]+/)).filter(Boolean);
  const servers = words(["dns-nameservers", "dns-nameserver"]);
  for (const bad of servers.filter((server) => !isIp(server))) ctx.findings.warnings.push(notCarried("ifupdown-invalid-value", `${stanza.where}: name server "${bad}" of ${stanza.name} is not an address`, interfaceLabel(name)));
  addUnique(ctx.findings.dns.servers, servers.filter(isIp));
  addUnique(ctx.findings.dns.search, [...words(["dns-search"]), ...words(["dns-domain"])]);
  for (const other of lines.filter((o) => !DNS_KEYS.includes(o.key))) warnOption(ctx, name, other, "resolver option");
}

/** Kinds and ports, once every stanza is read: a port may come before its bond, or have no stanza at all. */
function assemble(ctx: Context): FoundInterface[] {
  // A Map's iteration visits what is added during it: ports and parents created here are seen too.
  for (const building of ctx.interfaces.values()) {
    for (const port of building.bondSlaves ?? []) buildingFor(ctx, port, building.source);
    for (const port of building.bridgePorts ?? []) buildingFor(ctx, port, building.source);
    if (building.bondMaster) buildingFor(ctx, building.bondMaster, building.source);
    const parent = vlanOf(building)?.parent;
    if (parent) buildingFor(ctx, parent, building.source);
  }
  const controllers = controllersOf(ctx);
  const atBoot = upAtBoot(ctx, controllers);
  return [...ctx.interfaces.values()].map((building) => toFound(ctx, building, controllers, atBoot.has(building.name)));
}

/**
 * Up at boot: `auto`/`allow-hotplug`, and what ifupdown's hooks bring up with them: the ports a bond
 * (bond-slaves) or bridge (bridge_ports) lists, and the raw device of a VLAN.
 */
function upAtBoot(ctx: Context, controllers: Map<string, { name: string; lists: boolean }>): Set<string> {
  const names = new Set([...ctx.interfaces.values()].filter((b) => b.atBoot).map((b) => b.name));
  let grown = true;
  while (grown) {
    grown = false;
    for (const building of ctx.interfaces.values()) {
      if (names.has(building.name)) continue;
      const controller = controllers.get(building.name);
      const listedByBootController = controller?.lists === true && names.has(controller.name);
      const parentOfBootVlan = [...ctx.interfaces.values()].some((vlan) => names.has(vlan.name) && vlanOf(vlan)?.parent === building.name);
      if (listedByBootController || parentOfBootVlan) grown = names.add(building.name) !== undefined;
    }
  }
  return names;
}

/** Port name → its controller and whether the controller lists it (then the controller brings it up). */
function controllersOf(ctx: Context): Map<string, { name: string; lists: boolean }> {
  const controllers = new Map<string, { name: string; lists: boolean }>();
  for (const building of ctx.interfaces.values()) {
    for (const port of [...(building.bondSlaves ?? []), ...(building.bridgePorts ?? [])]) controllers.set(port, { name: building.name, lists: true });
    if (building.bondMaster && !controllers.has(building.name)) controllers.set(building.name, { name: building.bondMaster, lists: false });
  }
  return controllers;
}

function kindOf(ctx: Context, building: Building): InterfaceKind {
  if (building.bridgePorts) return "bridge";
  const isBondMaster = [...ctx.interfaces.values()].some((other) => other.bondMaster === building.name);
  if (building.bondSlaves || isBondMaster || (building.bondOptions.length > 0 && !building.bondMaster)) return "bond";
  return vlanOf(building) ? "vlan" : "ethernet";
}

/** ifupdown makes `PARENT.ID` a VLAN itself; the vlan package adds `vlanNNNN`-style names with vlan-raw-device. */
function vlanOf(building: Building): { id: number; parent: string } | undefined {
  if (building.bridgePorts) return undefined;
  const dotted = /^(.+)\.(\d+)$/.exec(building.name);
  const numbered = /^vlan0*(\d+)$/.exec(building.name);
  const parent = building.vlanRawDevice ?? dotted?.[1];
  const id = dotted ? Number(dotted[2]) : numbered ? Number(numbered[1]) : building.vlanId;
  return parent && id !== undefined && id <= 4094 ? { id, parent } : undefined;
}

function toFound(ctx: Context, building: Building, controllers: Map<string, { name: string; lists: boolean }>, atBoot: boolean): FoundInterface {
  const kind = kindOf(ctx, building);
  const controller = controllers.get(building.name);
  const found: FoundInterface = { name: building.name, kind, activation: atBoot ? "boot" : "manual", source: building.source };
  if (building.mtu) found.mtu = building.mtu;
  if (building.hwaddress) {
    if (kind === "ethernet") ctx.findings.warnings.push(notCarried("hwaddress-not-carried", `${building.hwaddress.where}: ${building.name} sets its MAC to ${building.hwaddress.mac}; the NIC is bound by its own MAC and the override is not carried`, building.name));
    else found.mac = building.hwaddress.mac;
  }
  if (controller) found.controller = controller.name;
  if (kind === "bond") found.bond = bondSettings(ctx, building);
  if (kind === "vlan") found.vlan = vlanOf(building)!;
  if (kind === "bridge") found.bridge = building.bridge ?? { stp: false };
  const ipv4 = building.ipv4;
  const ipv6 = controller && !building.ipv6 ? undefined : withRouterAdvertisements(ctx, building, ipv6Of(building));
  if (controller && (ipv4 || ipv6)) {
    ctx.findings.warnings.push(notCarried("port-addresses", `${building.source}: ${building.name} is a port of ${controller.name}; its own IP configuration is not carried`, building.name));
  } else {
    if (ipv4) found.ipv4 = ipv4;
    if (ipv6) found.ipv6 = ipv6;
  }
  return found;
}

/**
 * Every interface ifupdown brings up has IPv6: without an inet6 stanza (or with `inet6 manual`) the
 * kernel's defaults stay (accept_ra 1, autoconf 1 on a host that does not forward), so router
 * advertisements give it SLAAC addresses and a default route, and `up ip -6 …` hooks add to that.
 * What a renderer must keep (networkd and NetworkManager would do the same by default, ifcfg would not).
 * Its autoconf comes from the sysctls (withRouterAdvertisements).
 */
function ipv6Of(building: Building): CapturedIpv6 {
  return (building.ipv6 ??= { autoconf: false, dhcp: false, addresses: [], routes: [] });
}

function withRouterAdvertisements(ctx: Context, building: Building, ipv6: CapturedIpv6): CapturedIpv6 | undefined {
  const accepted = building.acceptRa > 0;
  if (accepted && building.slaac === 0) {
    ctx.findings.warnings.push(notCarried("ipv6-ra-without-autoconf", `${building.source}: ${building.name} accepts router advertisements (accept_ra ${building.acceptRa}) with autoconf 0: a default route learnt from them is not carried, nor are they accepted`, building.name));
  }
  const result = { ...ipv6, autoconf: accepted && building.slaac > 0 };
  return isEmptyIpv6(result) ? undefined : result;
}

/** `inet6 auto` with `accept_ra 0` and nothing else: IPv6 configured to do nothing, the model's "no IPv6". */
function isEmptyIpv6(ipv6: CapturedIpv6): boolean {
  return !ipv6.autoconf && !ipv6.dhcp && ipv6.addresses.length === 0 && !ipv6.gateway && ipv6.routes.length === 0;
}

/** The bond's own stanzas first; a port's bond-* lines fill in (ifenslave creates the bond from whichever comes up first). */
function bondSettings(ctx: Context, bond: Building): BondSettings {
  const ports = [...ctx.interfaces.values()].filter((port) => port.bondMaster === bond.name);
  const options = new Map<string, IfupdownOption>();
  for (const option of [...bond.bondOptions, ...ports.flatMap((port) => port.bondOptions)]) {
    const earlier = options.get(option.key);
    if (!earlier) options.set(option.key, option);
    else if (earlier.value !== option.value) warnOption(ctx, bond.name, option, `bond option disagreeing with ${earlier.where} (${earlier.value} is carried)`);
  }
  const mode = options.get("bond-mode");
  const settings: BondSettings = { mode: (mode && bondMode(ctx, bond.name, mode)) ?? "balance-rr" };
  for (const [key, field] of [["bond-miimon", "miimon"], ["bond-updelay", "updelay"], ["bond-downdelay", "downdelay"]] as const) {
    const found = options.get(key);
    const value = found ? integerIn(ctx, bond.name, found, 0, 2147483647) : undefined;
    if (value !== undefined) settings[field] = value;
  }
  const lacp = options.get("bond-lacp-rate");
  if (lacp) {
    const rate = ({ "0": "slow", slow: "slow", "1": "fast", fast: "fast" } as const)[lacp.value as "0"];
    if (rate) settings.lacpRate = rate;
    else warnValue(ctx, bond.name, lacp);
  }
  const hash = options.get("bond-xmit-hash-policy");
  if (hash) {
    const policy = /^\d$/.test(hash.value) ? XMIT_HASH_POLICIES[Number(hash.value)] : XMIT_HASH_POLICIES.find((p) => p === hash.value);
    if (policy) settings.xmitHashPolicy = policy;
    else warnValue(ctx, bond.name, hash);
  }
  const primary = options.get("bond-primary");
  if (primary) settings.primary = primary.value;
  return settings;
}

function bondMode(ctx: Context, name: string, option: IfupdownOption): string | undefined {
  const mode = /^\d$/.test(option.value) ? BOND_MODES[Number(option.value)] : BOND_MODES.find((m) => m === option.value);
  if (!mode) warnValue(ctx, name, option);
  return mode;
}

function option(stanza: Stanza, key: string): IfupdownOption | undefined {
  return stanza.options.find((o) => o.key === key);
}

function integerIn(ctx: Context, name: string, option: IfupdownOption, min: number, max: number): number | undefined {
  const value = /^\d+$/.test(option.value) ? Number(option.value) : Number.NaN;
  if (value >= min && value <= max) return value;
  return warnValue(ctx, name, option);
}

function warnValue(ctx: Context, name: string, option: IfupdownOption): undefined {
  ctx.findings.warnings.push(notCarried("ifupdown-invalid-value", `${option.where}: ${option.key} "${option.value}" of ${name} is not a valid value`, interfaceLabel(name)));
  return undefined;
}

function warnOption(ctx: Context, name: string, option: IfupdownOption, what: string): void {
  ctx.findings.warnings.push(notCarried("ifupdown-option", `${option.where}: ${what} \`${option.key} ${option.value}\` of ${name}`, interfaceLabel(name)));
}

/** A name the captured document can hold (the kernel's 15 characters), else undefined. */
function interfaceLabel(name: string): string | undefined {
  return /^[A-Za-z0-9_.:-]{1,15}$/.test(name) ? name : undefined;
}
