import type { BondSettings, CapturedAddress, CapturedGateway, CapturedIpv4, CapturedIpv6, CapturedRoute, CarryOverWarning, InterfaceKind } from "./captured-config.ts";
import { defaultDestination, isIp, isIpv4, isIpv6, parseCidr, prefixFromNetmask } from "./ip-address.ts";
import { parseIpRouteArgs } from "./ip-route.ts";
import { subnetContains } from "./ip-subnet.ts";
import { addUnique, emptyFindings, type FoundInterface, type NetworkFindings, normalizeMac, notCarried } from "./network-findings.ts";
import { listRootDir, readRootFile } from "./root-files.ts";
import { parseShellVariables } from "./shell-variables.ts";

const DIR = "/etc/sysconfig/network-scripts";
const NETWORK_FILE = "/etc/sysconfig/network";

/**
 * Backups and package-manager leftovers: initscripts' is_ignored_file (~ .bak .old .orig .rpmnew .rpmorig
 * .rpmsave) and NetworkManager's ifcfg-rh (also .rej .augnew .augtmp and rpm's `;1a2b3c4d` temporaries).
 * Editor swap files (`.ifcfg-eth0.swp`) do not start with `ifcfg-`.
 */
const IGNORED_SUFFIX = /(~|\.bak|\.old|\.orig|\.rpmnew|\.rpmorig|\.rpmsave|\.rej|\.augnew|\.augtmp|;[0-9a-f]{8})$/;

/**
 * Keys that change nothing the new system's reachability depends on: names and ids of the profile,
 * who may control it, DHCP client behaviour on failure or lease release, values ifup derives itself.
 * Any other key this capture does not read is reported as not carried.
 */
const IGNORED_KEYS = new Set([
  "NAME", "UUID", "NM_CONTROLLED", "USERCTL", "HOTPLUG", "STARTMODE", "PROXY_METHOD", "BROWSER_ONLY",
  "PEERDNS", "IPV6_PEERDNS", "IPV4_FAILURE_FATAL", "IPV6_FAILURE_FATAL", "IPV4_DHCP_TIMEOUT",
  "DHCP_HOSTNAME", "DHCP_FQDN", "DHCP_SEND_HOSTNAME", "NO_DHCP_HOSTNAME", "PERSISTENT_DHCLIENT",
  "PERSISTENT_DHCLIENT_IPV6", "DHCPRELEASE", "NETWORK", "BROADCAST", "NOZEROCONF", "IPV6_SET_SYSCTLS",
  "ARPUPDATE", "ARPING_WAIT", "ARPING_UPDATE_WAIT", "VLAN_NAME_TYPE", "REORDER_HDR", "GVRP", "DEVTIMEOUT",
  "AUTOCONNECT_PRIORITY", "AUTOCONNECT_RETRIES", "AUTOCONNECT_SLAVES", "RES_OPTIONS", "IPV6_RES_OPTIONS",
  "ETHTOOL_WAKE_ON_LAN",
]);

/** Keys whose value here is what the new system does anyway. */
const NO_OP_VALUES: Record<string, (value: string) => boolean> = {
  ARPCHECK: isTrue,
  IPV6_PRIVACY: isFalse,
  IPV6_FORCE_ACCEPT_RA: isFalse,
  PEERROUTES: isTrue,
  IPV6_PEERROUTES: isTrue,
  LINKDELAY: (value) => value === "0",
  IPV6_ADDR_GEN_MODE: (value) => value === "eui64",
};

/** Keys this capture reads from an interface's ifcfg file. */
const READ_KEYS = new Set([
  "DEVICE", "TYPE", "ONBOOT", "BOOTPROTO", "METRIC", "IPV4_ROUTE_METRIC", "DEFROUTE", "DOMAIN", "SEARCH",
  "HWADDR", "MACADDR", "MTU", "MASTER", "MASTER_UUID", "SLAVE", "BRIDGE", "BRIDGE_UUID", "BONDING_MASTER", "BONDING_OPTS",
  "VLAN", "PHYSDEV", "VLAN_ID", "STP", "DELAY", "BRIDGING_OPTS", "SCOPE", "IPV6INIT", "IPV6_DISABLED", "IPV6ADDR",
  "IPV6ADDR_SECONDARIES", "IPV6_AUTOCONF", "IPV6FORWARDING", "DHCPV6C", "IPV6_DEFAULTGW", "IPV6_DEFAULTDEV", "IPV6_DEFROUTE", "IPV6_ROUTE_METRIC",
]);
const NUMBERED_KEYS = /^(IPADDR|PREFIX|NETMASK|GATEWAY|DNS)\d*$/;
const ALIAS_KEYS = new Set(["DEVICE", "IPADDR", "PREFIX", "NETMASK", "ONPARENT", "ONBOOT", "GATEWAY", "IPV6ADDR"]);
/** ifup-aliases never reads BOOTPROTO (an alias is static); hosting templates write none or static anyway. */
const ALIAS_KEYS_STATIC = new Set([...ALIAS_KEYS, "BOOTPROTO"]);

const BOND_MODES = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];
const XMIT_HASH_POLICIES = ["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"];

interface IfcfgFile {
  /** What follows `ifcfg-`: initscripts' DEVNAME, the nickname route files may use. */
  suffix: string;
  source: string;
  vars: Map<string, string>;
}

/** What the post-passes need to know of an interface beyond the model. */
interface Found {
  iface: FoundInterface;
  file: IfcfgFile;
  /** DEFROUTE and GATEWAYDEV allow an IPv4 default route here. */
  /** A port of a bond or bridge (its controller by name, or by a UUID to resolve): no addresses of its own. */
  port: boolean;
  defaultRoute4: boolean;
  defaultRoute6: boolean;
  ipv4Metric?: number;
  ipv6Metric?: number;
}

interface Context {
  root: string;
  network: Map<string, string>;
  warnings: CarryOverWarning[];
}

/** EL network-scripts (initscripts, and NetworkManager's ifcfg-rh that reads the same files on EL7/EL8). */
export function captureIfcfg(root: string): NetworkFindings {
  const findings = emptyFindings();
  const files = listRootDir(root, DIR, isIfcfgFile).map((name) => readIfcfg(root, name));
  if (files.length === 0) return findings;
  const context: Context = { root, network: parseShellVariables(readRootFile(root, NETWORK_FILE) ?? ""), warnings: findings.warnings };
  const aliases = files.filter((file) => file.suffix.includes(":"));
  for (const range of files.filter((file) => /-range/.test(file.suffix))) {
    warn(context, "alias-range-not-carried", `${range.source}: a range of alias addresses (IPADDR_START…IPADDR_END); add them on the new system by hand`);
  }
  const found: Found[] = [];
  for (const file of files.filter((f) => !f.suffix.includes(":") && !/-range/.test(f.suffix))) {
    const item = readInterface(context, file, aliases);
    if (item) found.push(item);
    addDns(context, file, findings);
  }
  warnOrphanAliases(context, aliases, found);
  resolveControllerUuids(found);
  applyGlobalGateway(context, found);
  applyGlobalIpv6Gateway(context, found);
  findings.interfaces.push(...withParentsAndControllers(context, found));
  for (const rule of listRootDir(root, DIR, (name) => /^rule6?-/.test(name) && !IGNORED_SUFFIX.test(name))) {
    warn(context, "policy-routing-not-carried", `${DIR}/${rule}: routing rules (policy routing); recreate them on the new system by hand`);
  }
  return findings;
}

function isIfcfgFile(name: string): boolean {
  return name.startsWith("ifcfg-") && name !== "ifcfg-lo" && name.length > "ifcfg-".length && !IGNORED_SUFFIX.test(name);
}

function readIfcfg(root: string, name: string): IfcfgFile {
  const source = `${DIR}/${name}`;
  return { suffix: name.slice("ifcfg-".length), source, vars: parseShellVariables(readRootFile(root, source) ?? "") };
}

/** shvar booleans as initscripts' is_true/is_false read them. */
function isTrue(value: string | undefined): boolean {
  return /^(y|yes|t|true|on|1)$/i.test(value ?? "");
}
function isFalse(value: string | undefined): boolean {
  return /^(n|no|f|false|off|0)$/i.test(value ?? "");
}

/** A warning's `interface` must be a valid name; NM-written file names (`Wired_connection_1`) are not. */
function warn(context: Context, id: string, message: string, iface?: string): void {
  context.warnings.push(notCarried(id, message, iface && /^[A-Za-z0-9_.:-]{1,15}$/.test(iface) ? iface : undefined));
}

function readInterface(context: Context, file: IfcfgFile, aliases: IfcfgFile[]): Found | undefined {
  const { vars, source } = file;
  const label = vars.get("DEVICE") || file.suffix;
  const refused = unsupportedKind(vars);
  if (refused) {
    warn(context, refused.id, `${label} from ${source} is ${refused.what}; configure it on the new system by hand`, label);
    return undefined;
  }
  const kind = kindOf(vars);
  const iface: FoundInterface = { kind, activation: isFalse(vars.get("ONBOOT")) ? "manual" : "boot", source };
  const name = vars.get("DEVICE") || (kind === "ethernet" && vars.get("HWADDR") ? undefined : file.suffix);
  if (name !== undefined && !/^[A-Za-z0-9_.:-]{1,15}$/.test(name)) {
    if (kind !== "ethernet" || !vars.get("HWADDR")) return void warn(context, "interface-name-invalid", `${source}: "${name}" is not a Linux interface name`);
  } else if (name !== undefined) iface.name = name;
  const mac = macOf(context, file, kind, label);
  if (mac) iface.mac = mac;
  const mtu = integerKey(context, file, "MTU", label, 68, 65535);
  if (mtu !== undefined) iface.mtu = mtu;
  const controller = vars.get("MASTER") || vars.get("BRIDGE");
  if (!kindSettings(context, file, iface, label)) return undefined;
  warnUnreadKeys(context, file, label, READ_KEYS);
  if (controller || vars.get("MASTER_UUID") || vars.get("BRIDGE_UUID")) {
    if (controller) iface.controller = controller;
    warnPortAddresses(context, file, label);
    return { iface, file, port: true, defaultRoute4: false, defaultRoute6: false };
  }
  return withFamilies(context, file, iface, label, aliases);
}

function unsupportedKind(vars: Map<string, string>): { id: string; what: string } | undefined {
  const type = (vars.get("TYPE") ?? "").toLowerCase();
  const deviceType = (vars.get("DEVICETYPE") ?? "").toLowerCase();
  if (type === "team" || deviceType === "team" || vars.get("TEAM_CONFIG")) return { id: "team-not-carried", what: "a team (teamd)" };
  if (type === "teamport" || deviceType === "teamport" || vars.get("TEAM_MASTER")) return { id: "team-not-carried", what: `a port of team ${vars.get("TEAM_MASTER") ?? ""}`.trim() };
  if (type === "wireless" || vars.get("ESSID")) return { id: "wifi-not-carried", what: "a wireless (Wi-Fi) interface" };
  if (type === "infiniband") return { id: "infiniband-not-carried", what: "an InfiniBand interface" };
  if (type === "xdsl" || vars.get("PPPOE_TIMEOUT") !== undefined) return { id: "pppoe-not-carried", what: "a PPPoE (xDSL) connection" };
  if (deviceType.startsWith("ovs") || type.startsWith("ovs")) return { id: "interface-type-not-carried", what: `an Open vSwitch device (${vars.get("TYPE") ?? vars.get("DEVICETYPE")})` };
  if (type && !["ethernet", "bond", "bonding", "vlan", "bridge"].includes(type)) return { id: "interface-type-not-carried", what: `of TYPE=${vars.get("TYPE")}` };
  return undefined;
}

function kindOf(vars: Map<string, string>): InterfaceKind {
  const type = (vars.get("TYPE") ?? "").toLowerCase();
  const port = vars.get("MASTER") || vars.get("MASTER_UUID");
  if (type === "bond" || type === "bonding" || isTrue(vars.get("BONDING_MASTER")) || (vars.get("BONDING_OPTS") && !port)) return "bond";
  if (type === "vlan" || isTrue(vars.get("VLAN"))) return "vlan";
  if (type === "bridge") return "bridge";
  return "ethernet";
}

/**
 * HWADDR is a NIC's own (permanent) address: the binding. MACADDR makes a device send with another
 * address. A bond, bridge or VLAN has no address of its own, so there MACADDR is its configured MAC and
 * is carried; on a NIC the model has no place for a changed address (and binding by it would miss the NIC
 * on the new system, which starts with the NIC's own): it is reported, the NIC stays bound by HWADDR.
 */
function macOf(context: Context, file: IfcfgFile, kind: InterfaceKind, label: string): string | undefined {
  const key = kind === "ethernet" ? "HWADDR" : "MACADDR";
  const text = file.vars.get(key);
  const mac = normalizeMac(text);
  if (text && !mac) warn(context, "mac-invalid", `${key}=${text} of ${label} in ${file.source} is not a MAC address`, label);
  if (kind === "ethernet" && file.vars.get("MACADDR")) {
    warn(context, "mac-override-not-carried", `MACADDR=${file.vars.get("MACADDR")} of ${label} in ${file.source}: the NIC sends with its own address on the new system (DHCP reservations and MAC filters may see a different MAC)`, label);
  }
  return mac;
}

function integerKey(context: Context, file: IfcfgFile, key: string, label: string, min: number, max: number): number | undefined {
  const text = file.vars.get(key);
  if (!text) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (value >= min && value <= max) return value;
  warn(context, `${key.toLowerCase().replaceAll("_", "-")}-invalid`, `${key}=${text} of ${label} in ${file.source} is not a number from ${min} to ${max}`, label);
  return undefined;
}

/** Bond, VLAN and bridge settings; false when the interface cannot be carried at all. */
function kindSettings(context: Context, file: IfcfgFile, iface: FoundInterface, label: string): boolean {
  const { vars, source } = file;
  if (iface.kind === "bond") iface.bond = bondSettings(context, vars.get("BONDING_OPTS") ?? "", label, source);
  if (iface.kind === "vlan") {
    const vlan = vlanSettings(vars, label);
    if (!vlan) {
      warn(context, "vlan-not-carried", `${label} from ${source} is a VLAN whose id or parent (VLAN_ID, PHYSDEV, DEVICE=parent.id) is not given`, label);
      return false;
    }
    iface.vlan = vlan;
  }
  if (iface.kind === "bridge") {
    const delay = integerKey(context, file, "DELAY", label, 0, 65535);
    iface.bridge = { stp: isTrue(vars.get("STP")), ...(delay !== undefined ? { forwardDelay: delay } : {}) };
    for (const option of (vars.get("BRIDGING_OPTS") ?? "").split(/\s+/).filter(Boolean)) {
      warn(context, "bridge-option-not-carried", `${option} in BRIDGING_OPTS of ${label} (${source})`, label);
    }
  }
  return true;
}

/** BONDING_OPTS="mode=802.3ad miimon=100 …": the kernel's option names, numeric modes and policies too. */
function bondSettings(context: Context, options: string, label: string, source: string): BondSettings {
  const bond: BondSettings = { mode: "balance-rr" };
  for (const option of options.split(/\s+/).filter(Boolean)) {
    const [key = "", value = ""] = option.split("=", 2);
    if (!applyBondOption(bond, key, value)) warn(context, "bond-option-not-carried", `${option} in BONDING_OPTS of ${label} (${source})`, label);
  }
  return bond;
}

function applyBondOption(bond: BondSettings, key: string, value: string): boolean {
  const named = (names: string[]) => (/^\d+$/.test(value) ? names[Number(value)] : names.includes(value) ? value : undefined);
  const count = /^\d+$/.test(value) ? Number(value) : undefined;
  if (key === "mode") return Boolean(named(BOND_MODES) && (bond.mode = named(BOND_MODES)!));
  if (key === "xmit_hash_policy") return Boolean(named(XMIT_HASH_POLICIES) && (bond.xmitHashPolicy = named(XMIT_HASH_POLICIES)));
  if (key === "lacp_rate") {
    const rate = named(["slow", "fast"]) as BondSettings["lacpRate"];
    return Boolean(rate && (bond.lacpRate = rate));
  }
  if (key === "primary") return Boolean(value && (bond.primary = value));
  if ((key === "miimon" || key === "updelay" || key === "downdelay") && count !== undefined) {
    bond[key] = count;
    return true;
  }
  return false;
}

/** VLAN_ID and PHYSDEV, else the id and parent in the name: eth0.100, bond0.100, vlan100 (with PHYSDEV). */
function vlanSettings(vars: Map<string, string>, label: string): { id: number; parent: string } | undefined {
  const dotted = /^(.+)\.(\d+)$/.exec(label);
  const idText = vars.get("VLAN_ID") ?? dotted?.[2] ?? /^vlan0*(\d+)$/.exec(label)?.[1];
  const parent = vars.get("PHYSDEV") || dotted?.[1];
  const id = idText && /^\d+$/.test(idText) ? Number(idText) : Number.NaN;
  return parent && id >= 0 && id <= 4094 ? { id, parent } : undefined;
}

function warnPortAddresses(context: Context, file: IfcfgFile, label: string): void {
  const keys = [...file.vars.keys()].filter((key) => /^(IPADDR\d*|IPV6ADDR|IPV6ADDR_SECONDARIES|GATEWAY)$/.test(key) && file.vars.get(key));
  const dhcp = /^(dhcp|bootp)$/i.test(file.vars.get("BOOTPROTO") ?? "");
  if (keys.length || dhcp) {
    warn(context, "port-address-not-carried", `${label} in ${file.source} is a port of ${file.vars.get("MASTER") || file.vars.get("BRIDGE") || "a controller"}; its own ${[...keys, ...(dhcp ? ["BOOTPROTO=dhcp"] : [])].join(", ")} is not used there`, label);
  }
}

function warnUnreadKeys(context: Context, file: IfcfgFile, label: string, read: Set<string>): void {
  for (const [key, value] of file.vars) {
    if (read.has(key) || NUMBERED_KEYS.test(key) || IGNORED_KEYS.has(key) || value === "") continue;
    if (NO_OP_VALUES[key]?.(value)) continue;
    warn(context, "ifcfg-setting-not-carried", `${key}=${value} of ${label} in ${file.source}`, label);
  }
}

function withFamilies(context: Context, file: IfcfgFile, iface: FoundInterface, label: string, aliases: IfcfgFile[]): Found {
  const found: Found = { iface, file, port: false, defaultRoute4: allowsDefault4(context, file, iface.name ?? label), defaultRoute6: !isFalse(file.vars.get("IPV6_DEFROUTE")) };
  const ipv4 = ipv4Family(context, found, label, aliases);
  if (ipv4) iface.ipv4 = ipv4;
  const ipv6 = ipv6Family(context, found, label);
  if (ipv6) iface.ipv6 = ipv6;
  return found;
}

/** GATEWAYDEV in /etc/sysconfig/network makes every other interface one without a default route (both tools). */
function allowsDefault4(context: Context, file: IfcfgFile, name: string): boolean {
  const gatewayDev = context.network.get("GATEWAYDEV");
  return !isFalse(file.vars.get("DEFROUTE")) && (!gatewayDev || gatewayDev === name);
}

function ipv4Family(context: Context, found: Found, label: string, aliases: IfcfgFile[]): CapturedIpv4 | undefined {
  const { vars, source } = found.file;
  const dhcp = /^(dhcp|bootp)$/i.test(vars.get("BOOTPROTO") ?? "");
  const own = staticAddresses(context, found.file, label);
  if (dhcp && own.length > 0) {
    warn(context, "address-not-carried", `${own.map((a) => `${a.address}/${a.prefix}`).join(", ")} of ${label} in ${source}: static addresses next to BOOTPROTO=dhcp (initscripts ignores them, NetworkManager adds them)`, label);
  }
  const addresses = [...(dhcp ? [] : own), ...aliasAddresses(context, found.file, aliases)];
  const routes = readRoutes(context, found, "ipv4", label);
  const peer = peerRoute(context, found.file, addresses, label);
  if (peer) routes.unshift(peer);
  if (!dhcp && addresses.length === 0 && routes.length === 0) return undefined;
  const ipv4: CapturedIpv4 = { dhcp, addresses, routes: [] };
  const metricText = vars.get("IPV4_ROUTE_METRIC") || vars.get("METRIC");
  found.ipv4Metric = metricText && /^\d+$/.test(metricText) ? Number(metricText) : undefined;
  if (metricText && found.ipv4Metric === undefined) warn(context, "metric-invalid", `metric ${metricText} of ${label} in ${source} is not a number`, label);
  if (dhcp && !found.defaultRoute4) ipv4.neverDefault = true;
  const gateway = vars.get("GATEWAY") || numberedGateway(vars);
  if (gateway && !isIpv4(gateway)) warn(context, "gateway-invalid", `GATEWAY=${gateway} of ${label} in ${source} is not an IPv4 address`, label);
  else if (gateway && found.defaultRoute4) ipv4.gateway = withMetric(gateway, found.ipv4Metric);
  if (dhcp && !ipv4.gateway && found.ipv4Metric !== undefined && found.defaultRoute4) {
    warn(context, "metric-not-carried", `the metric ${found.ipv4Metric} of the DHCP default route of ${label} (${source})`, label);
  }
  ipv4.routes = promoteDefaultRoute(ipv4, routes, found.defaultRoute4);
  return ipv4;
}

/** NetworkManager: the first GATEWAYn of the numbered addresses when GATEWAY is not set. */
function numberedGateway(vars: Map<string, string>): string | undefined {
  return addressIndices(vars).map((n) => vars.get(`GATEWAY${n}`)).find(Boolean);
}

function withMetric(via: string, metric: number | undefined): CapturedGateway {
  return { via, ...(metric !== undefined ? { metric } : {}) };
}

/** IPADDR, IPADDR0, IPADDR1 may be left out; from IPADDR2 on the first missing one ends the list (both tools). */
function addressIndices(vars: Map<string, string>): string[] {
  const indices: string[] = [];
  for (const index of ["", ...Array.from({ length: 256 }, (_, n) => String(n))]) {
    if (vars.get(`IPADDR${index}`)) indices.push(index);
    else if (Number(index) >= 2) break;
  }
  return indices;
}

function staticAddresses(context: Context, file: IfcfgFile, label: string): CapturedAddress[] {
  const { vars, source } = file;
  const indices = addressIndices(vars);
  for (const key of vars.keys()) {
    const n = /^IPADDR(\d+)$/.exec(key)?.[1];
    if (n !== undefined && vars.get(key) && !indices.includes(n)) warn(context, "address-not-carried", `${key}=${vars.get(key)} of ${label} in ${source}: it follows a gap in the numbering, neither initscripts nor NetworkManager applies it`, label);
  }
  return indices.flatMap((n) => {
    const address = ipv4Address(vars.get(`IPADDR${n}`)!, vars.get(`PREFIX${n}`), vars.get(`NETMASK${n}`));
    if (address) return [address];
    warn(context, "address-invalid", `IPADDR${n}=${vars.get(`IPADDR${n}`)} (PREFIX${n}/NETMASK${n}) of ${label} in ${source} is not an IPv4 address with a prefix`, label);
    return [];
  });
}

/** PREFIX before NETMASK; neither: the address's class, as ipcalc and NetworkManager default. */
function ipv4Address(address: string, prefixText: string | undefined, netmask: string | undefined): CapturedAddress | undefined {
  if (!isIpv4(address)) return undefined;
  const prefix = prefixText ? (/^\d{1,2}$/.test(prefixText) ? Number(prefixText) : undefined) : netmask ? prefixFromNetmask(netmask) : classfulPrefix(address);
  return prefix !== undefined && prefix <= 32 ? { address, prefix } : undefined;
}

function classfulPrefix(address: string): number | undefined {
  const first = Number(address.split(".")[0]);
  return first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : undefined;
}

/** `SCOPE="peer GW"` (hosting templates with /32 addresses): the peer is reached on the link. */
function peerRoute(context: Context, file: IfcfgFile, addresses: CapturedAddress[], label: string): CapturedRoute | undefined {
  const scope = file.vars.get("SCOPE");
  if (!scope) return undefined;
  const peer = /^peer\s+(\S+)$/.exec(scope.trim())?.[1];
  if (peer && isIpv4(peer) && addresses.every((a) => a.prefix === 32)) return { to: `${peer}/32`, scope: "link" };
  warn(context, "ifcfg-setting-not-carried", `SCOPE=${scope} of ${label} in ${file.source}`, label);
  return undefined;
}

/** ifcfg-eth0:1, ifcfg-eth0:web: more addresses of eth0, brought up with it unless ONPARENT=no. */
function aliasAddresses(context: Context, parent: IfcfgFile, aliases: IfcfgFile[]): CapturedAddress[] {
  const device = parent.vars.get("DEVICE") || parent.suffix;
  return aliases.filter((alias) => alias.suffix.startsWith(`${device}:`)).flatMap((alias) => {
    const { vars, source } = alias;
    const label = vars.get("DEVICE") || alias.suffix;
    if (isFalse(vars.get("ONPARENT"))) {
      warn(context, "alias-not-carried", `${label} (${source}) has ONPARENT=no: it is not brought up with ${device}, add it by hand when needed`, device);
      return [];
    }
    if (isFalse(vars.get("ONBOOT"))) {
      context.warnings.push({ id: "alias-onboot-ignored", message: `${label} (${source}) has ONBOOT=no, which aliases ignore (ONPARENT decides): carried as an address of ${device} brought up with it`, interface: device });
    }
    warnUnreadKeys(context, alias, label, /^(none|static)$/i.test(vars.get("BOOTPROTO") ?? "") ? ALIAS_KEYS_STATIC : ALIAS_KEYS);
    if (vars.get("IPV6ADDR")) warn(context, "alias-not-carried", `IPV6ADDR=${vars.get("IPV6ADDR")} of alias ${label} (${source})`, device);
    const gateway = vars.get("GATEWAY");
    if (gateway && gateway !== parent.vars.get("GATEWAY")) warn(context, "alias-not-carried", `GATEWAY=${gateway} of alias ${label} (${source}), another default route than ${device}'s`, device);
    const text = vars.get("IPADDR");
    if (!text) return [];
    const address = ipv4Address(text, vars.get("PREFIX") ?? parent.vars.get("PREFIX"), vars.get("NETMASK") ?? parent.vars.get("NETMASK"));
    if (!address) warn(context, "address-invalid", `IPADDR=${text} of alias ${label} in ${source} is not an IPv4 address with a prefix`, device);
    return address ? [address] : [];
  });
}

function warnOrphanAliases(context: Context, aliases: IfcfgFile[], found: Found[]): void {
  const parents = found.filter((f) => !f.port).map((f) => f.file.vars.get("DEVICE") || f.file.suffix);
  for (const alias of aliases) {
    if (!parents.some((parent) => alias.suffix.startsWith(`${parent}:`))) {
      warn(context, "alias-not-carried", `${alias.source}: an alias of ${alias.suffix.split(":")[0]}, which no carried ifcfg file configures`);
    }
  }
}

function ipv6Family(context: Context, found: Found, label: string): CapturedIpv6 | undefined {
  const { vars, source } = found.file;
  const network = context.network;
  const init = vars.get("IPV6INIT") || network.get("IPV6INIT");
  if (isTrue(vars.get("IPV6_DISABLED")) || isFalse(init)) return undefined;
  const forwarding = isTrue(vars.get("IPV6FORWARDING") || network.get("IPV6FORWARDING"));
  const autoconfText = vars.get("IPV6_AUTOCONF") || network.get("IPV6_AUTOCONF");
  const ipv6: CapturedIpv6 = { autoconf: autoconfText ? isTrue(autoconfText) : !forwarding, dhcp: isTrue(vars.get("DHCPV6C")), addresses: ipv6Addresses(context, found.file, label), routes: [] };
  if (!init && (ipv6.addresses.length > 0 || ipv6.dhcp)) {
    context.warnings.push({ id: "ipv6init-unset", message: `${label} (${source}) configures IPv6 without IPV6INIT=yes: initscripts applies it (its default), NetworkManager would not; carried as initscripts applies it`, interface: label });
  }
  const metricText = vars.get("IPV6_ROUTE_METRIC");
  found.ipv6Metric = metricText && /^\d+$/.test(metricText) ? Number(metricText) : undefined;
  if (!found.defaultRoute6 && (ipv6.autoconf || ipv6.dhcp)) ipv6.neverDefault = true;
  const gateway = ownIpv6Gateway(context, found.file, found.iface.name ?? label, label);
  if (gateway && found.defaultRoute6) ipv6.gateway = withMetric(gateway, found.ipv6Metric);
  ipv6.routes = promoteDefaultRoute(ipv6, readRoutes(context, found, "ipv6", label), found.defaultRoute6);
  return ipv6;
}

function ipv6Addresses(context: Context, file: IfcfgFile, label: string): CapturedAddress[] {
  const texts = [file.vars.get("IPV6ADDR") ?? "", ...(file.vars.get("IPV6ADDR_SECONDARIES") ?? "").split(/\s+/)].filter(Boolean);
  return texts.flatMap((text) => {
    const address = parseCidr(text, 64);
    if (address && isIpv6(address.address)) return [address];
    warn(context, "address-invalid", `IPv6 address ${text} of ${label} in ${file.source} is not an IPv6 address`, label);
    return [];
  });
}

/** IPV6_DEFAULTGW=addr[%dev] (or IPV6_DEFAULTDEV): naming another interface makes it no route of this one (ifup-ipv6). */
function ownIpv6Gateway(context: Context, file: IfcfgFile, name: string, label: string): string | undefined {
  const text = file.vars.get("IPV6_DEFAULTGW");
  const defaultDev = file.vars.get("IPV6_DEFAULTDEV");
  if (!text) {
    if (defaultDev) warn(context, "gateway-not-carried", `IPV6_DEFAULTDEV=${defaultDev} of ${label} in ${file.source}: a default route without a gateway`, label);
    return undefined;
  }
  const [via = "", scope] = text.split("%");
  const dev = scope || defaultDev;
  if (!isIpv6(via)) return void warn(context, "gateway-invalid", `IPV6_DEFAULTGW=${text} of ${label} in ${file.source} is not an IPv6 address`, label);
  if (dev && dev !== name) return void warn(context, "gateway-not-carried", `IPV6_DEFAULTGW=${text} in ${file.source} is for ${dev}, not ${name}: ifup-ipv6 does not install it`, label);
  return via;
}

/** A plain `default via` of a route file is the interface's gateway when it has none and may have a default route. */
function promoteDefaultRoute(family: CapturedIpv4 | CapturedIpv6, routes: CapturedRoute[], allowed: boolean): CapturedRoute[] {
  const plain = routes.find((r) => (r.to === "0.0.0.0/0" || r.to === "::/0") && r.via && Object.keys(r).every((key) => ["to", "via", "metric"].includes(key)));
  if (!plain || family.gateway || !allowed) return routes;
  family.gateway = withMetric(plain.via!, plain.metric);
  return routes.filter((r) => r !== plain);
}

/**
 * route-NAME and route6-NAME, NAME being the DEVICE and the ifcfg file's suffix (ifup-routes reads both,
 * each file once): `ip route` argument lines, or ADDRESSn/NETMASKn/GATEWAYn/METRICn.
 */
function readRoutes(context: Context, found: Found, family: "ipv4" | "ipv6", label: string): CapturedRoute[] {
  const device = found.iface.name ?? label;
  const prefix = family === "ipv4" ? "route" : "route6";
  const names = [...new Set([device, found.file.suffix].map((name) => `${prefix}-${name}`))];
  return names.flatMap((name) => {
    const path = `${DIR}/${name}`;
    const text = readRootFile(context.root, path);
    if (text === undefined) return [];
    const lines = text.replaceAll("\r\n", "\n").split("\n");
    const parsed = lines.some((line) => /^\s*ADDRESS\d+=/.test(line)) ? numberedRoutes(context, path, text, label) : ipRouteLines(path, lines);
    return parsed.flatMap((entry) => checkedRoute(context, entry, family, device, label));
  });
}

type RouteEntry = { where: string; text: string; words: string[] };

function ipRouteLines(path: string, lines: string[]): RouteEntry[] {
  return lines.flatMap((line, index) => (/^\s*(#.*)?$/.test(line) ? [] : [{ where: `${path} line ${index + 1}`, text: line.trim(), words: line.trim().split(/\s+/) }]));
}

/** ifup-routes reads ADDRESS0, ADDRESS1, … up to the first gap; NETMASKn defaults to a host route. */
function numberedRoutes(context: Context, path: string, text: string, label: string): RouteEntry[] {
  const vars = parseShellVariables(text);
  const entries: RouteEntry[] = [];
  for (let n = 0; vars.get(`ADDRESS${n}`); n++) {
    const netmask = vars.get(`NETMASK${n}`) ?? "255.255.255.255";
    const prefix = prefixFromNetmask(netmask);
    const gateway = vars.get(`GATEWAY${n}`);
    const metric = vars.get(`METRIC${n}`);
    if (vars.get(`OPTIONS${n}`)) warn(context, "route-not-carried", `OPTIONS${n}=${vars.get(`OPTIONS${n}`)} in ${path}: route ${n} is carried without these options`, label);
    entries.push({
      where: `${path} ADDRESS${n}`,
      text: `${vars.get(`ADDRESS${n}`)} NETMASK${n}=${netmask}`,
      words: [`${vars.get(`ADDRESS${n}`)}/${prefix ?? netmask}`, ...(gateway ? ["via", gateway] : []), ...(metric ? ["metric", metric] : [])],
    });
  }
  const skipped = [...vars.keys()].filter((key) => /^ADDRESS\d+$/.test(key) && Number(key.slice(7)) > entries.length);
  for (const key of skipped) warn(context, "route-not-carried", `${key} in ${path} follows a gap in the numbering, ifup-routes does not read it`, label);
  return entries;
}

function checkedRoute(context: Context, entry: RouteEntry, family: "ipv4" | "ipv6", device: string, label: string): CapturedRoute[] {
  const parsed = parseIpRouteArgs(entry.words);
  const problem = "error" in parsed ? parsed.error : routeProblem(parsed.route, parsed.isDefault, parsed.dev, family, device);
  if (problem || "error" in parsed) {
    warn(context, "route-not-carried", `${entry.where}: "${entry.text}": ${problem}`, label);
    return [];
  }
  return [parsed.route];
}

function routeProblem(route: CapturedRoute, isDefault: boolean, dev: string | undefined, family: "ipv4" | "ipv6", device: string): string | undefined {
  // `default dev X` without a gateway parses as IPv4; in a route6 file it is the IPv6 default.
  if (family === "ipv6" && isDefault && !route.via) route.to = defaultDestination("ipv6");
  const routeFamily = isIpv4(route.to.split("/")[0]!) ? "ipv4" : "ipv6";
  if (routeFamily !== family) return `an ${routeFamily === "ipv4" ? "IPv4 route in a route6-" : "IPv6 route in a route-"} file, which ip rejects`;
  if (dev && dev !== device) return `it names device ${dev}, not ${device}`;
  return undefined;
}

function addDns(context: Context, file: IfcfgFile, findings: NetworkFindings): void {
  const keys = [...file.vars.keys()].filter((key) => /^DNS\d+$/.test(key)).sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  for (const key of keys) {
    const server = file.vars.get(key)!;
    if (isIp(server)) addUnique(findings.dns.servers, [server]);
    else if (server) warn(context, "dns-invalid", `${key}=${server} in ${file.source} is not an IP address`, file.vars.get("DEVICE") || file.suffix);
  }
  addUnique(findings.dns.search, [file.vars.get("DOMAIN") ?? "", file.vars.get("SEARCH") ?? ""].join(" ").split(/[\s,]+/));
}

/** NetworkManager writes MASTER_UUID / BRIDGE_UUID: the controller's UUID instead of its name. */
function resolveControllerUuids(found: Found[]): void {
  for (const item of found) {
    if (item.iface.controller) continue;
    const uuid = item.file.vars.get("MASTER_UUID") || item.file.vars.get("BRIDGE_UUID");
    const controller = uuid ? found.find((other) => other.file.vars.get("UUID") === uuid)?.iface.name : undefined;
    if (controller) item.iface.controller = controller;
  }
}

/**
 * GATEWAY= of /etc/sysconfig/network: for the GATEWAYDEV interface, else the one on the gateway's subnet;
 * an interface's own GATEWAY overrides it (ifup sources the ifcfg file after this one).
 */
function applyGlobalGateway(context: Context, found: Found[]): void {
  const gateway = context.network.get("GATEWAY");
  if (!gateway) return;
  if (!isIpv4(gateway)) return warn(context, "gateway-invalid", `GATEWAY=${gateway} in ${NETWORK_FILE} is not an IPv4 address`);
  const ownGateway = (f: Found) => Boolean(f.file.vars.get("GATEWAY") || numberedGateway(f.file.vars));
  const gatewayDev = context.network.get("GATEWAYDEV");
  const staticCandidates = found.filter((f) => (f.iface.ipv4?.addresses.length ?? 0) > 0);
  const target = gatewayDev
    ? staticCandidates.find((f) => f.iface.name === gatewayDev)
    : staticCandidates.find((f) => f.iface.ipv4!.addresses.some((a) => subnetContains(a, gateway)));
  if (!target) {
    const where = gatewayDev ? `GATEWAYDEV=${gatewayDev} is no interface with static addresses here` : "no interface with static addresses here is on its subnet";
    return warn(context, "gateway-not-carried", `GATEWAY=${gateway} in ${NETWORK_FILE}: ${where}`, gatewayDev);
  }
  if (target.defaultRoute4 && !ownGateway(target)) target.iface.ipv4!.gateway = withMetric(gateway, target.ipv4Metric);
}

/** IPV6_DEFAULTGW=addr[%dev] of /etc/sysconfig/network: for %dev or IPV6_DEFAULTDEV, else the one on its subnet. */
function applyGlobalIpv6Gateway(context: Context, found: Found[]): void {
  const text = context.network.get("IPV6_DEFAULTGW");
  const defaultDev = context.network.get("IPV6_DEFAULTDEV");
  if (!text) {
    if (defaultDev) warn(context, "gateway-not-carried", `IPV6_DEFAULTDEV=${defaultDev} in ${NETWORK_FILE}: a default route without a gateway (tunnels, PPP)`, defaultDev);
    return;
  }
  const [via = "", scope] = text.split("%");
  if (!isIpv6(via)) return warn(context, "gateway-invalid", `IPV6_DEFAULTGW=${text} in ${NETWORK_FILE} is not an IPv6 address`);
  const dev = scope || defaultDev;
  const candidates = found.filter((f) => f.iface.ipv6 && !f.file.vars.get("IPV6_DEFAULTGW"));
  const target = dev ? candidates.find((f) => f.iface.name === dev) : candidates.find((f) => f.iface.ipv6!.addresses.some((a) => subnetContains(a, via)));
  if (!target) {
    if (found.some((f) => f.file.vars.get("IPV6_DEFAULTGW") && (!dev || f.iface.name === dev))) return;
    return warn(context, "gateway-not-carried", `IPV6_DEFAULTGW=${text} in ${NETWORK_FILE}: ${dev ? `${dev} is no interface with IPv6 here` : "no interface with static IPv6 addresses here is on its subnet"}`, dev);
  }
  if (target.defaultRoute6 && !target.iface.ipv6!.gateway) target.iface.ipv6!.gateway = withMetric(via, target.ipv6Metric);
}

/**
 * Ports whose bond or bridge is not carried are dropped, said so; a VLAN's parent NIC without an ifcfg
 * file of its own is brought up by ifup all the same, so it is carried as a link without addresses.
 */
function withParentsAndControllers(context: Context, found: Found[]): FoundInterface[] {
  const byName = (name: string) => found.find((f) => f.iface.name === name || f.file.suffix === name)?.iface;
  const kept = found.filter(({ iface, port }) => {
    const controller = iface.controller ? byName(iface.controller) : undefined;
    if (!port || controller?.kind === "bond" || controller?.kind === "bridge") return true;
    warn(context, "port-not-carried", `${iface.name ?? iface.source} (${iface.source}) is a port of ${iface.controller ?? "a controller"}, which no carried ifcfg file configures as a bond or bridge`, iface.name);
    return false;
  }).map((f) => f.iface);
  for (const vlan of kept.filter((i) => i.vlan && !byName(i.vlan.parent))) {
    kept.push({ name: vlan.vlan!.parent, kind: "ethernet", activation: "boot", source: vlan.source });
  }
  return kept;
}
