import type { BondSettings, BridgeSettings, CapturedAddress, CapturedIpv4, CapturedIpv6, CapturedRoute, CarryOverWarning, InterfaceKind } from "./captured-config.ts";
import type { IniSection } from "./ini-file.ts";
import { isIp } from "./ip-address.ts";
import { keyfileBoolean, keyfileList, keyfileString, keysOf, loadNmProfiles, type NmProfile, rawValue, sectionNameIn, settingNames } from "./nm-keyfile.ts";
import { itemText, numberedKeys, parseNmAddress, parseNmRoute } from "./nm-keyfile-ip.ts";
import { addUnique, emptyFindings, type FoundInterface, type NetworkFindings, normalizeMac, notCarried } from "./network-findings.ts";
import { sysNetDevices } from "./sys-class-net.ts";

export { nmLoadsKeyfileName } from "./nm-keyfile.ts";

type Family = "ipv4" | "ipv6";

const KINDS: Record<string, InterfaceKind> = { ethernet: "ethernet", "802-3-ethernet": "ethernet", bond: "bond", vlan: "vlan", bridge: "bridge" };
const INTERFACE_NAME = /^[A-Za-z0-9_.:-]{1,15}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** In the kernel's numbering (mode=4 is 802.3ad), which NetworkManager also accepts. */
const BOND_MODES = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];
/** In the kernel's numbering, which NetworkManager also accepts. */
const XMIT_HASH_POLICIES = ["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"];
/** NetworkManager's bond default; the kernel's is 0 (no link monitoring), so it is made explicit. */
const NM_DEFAULT_MIIMON = 100;

/** A profile NetworkManager rejects or one this capture cannot carry: the whole profile is left. */
class Refusal extends Error {
  constructor(
    readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

/** One profile read, before controllers and VLAN parents (UUIDs or names) are resolved across profiles. */
interface Draft {
  profile: NmProfile;
  label: string;
  found: FoundInterface;
  controllerRef?: string;
  portType?: string;
  parentRef?: string;
  parentMac?: string;
  autoconnectPorts: boolean;
  priority: number;
  timestamp: number;
  dns: { servers: string[]; search: string[] };
}

/** NetworkManager keyfiles: the profiles NetworkManager brings up at boot, as the format-2 model. */
export function captureNmKeyfiles(root: string): NetworkFindings {
  const findings = emptyFindings();
  const loaded = loadNmProfiles(root);
  findings.warnings.push(...loaded.warnings);
  const drafts = loaded.profiles.flatMap((profile) => draftOrWarning(profile, findings.warnings));
  const carried = resolveAcross(onePerDevice(drafts, findings.warnings), loaded.profiles, root, findings.warnings);
  for (const draft of carried) {
    findings.interfaces.push(draft.found);
    if (draft.found.activation === "boot" && !draft.found.controller) {
      addUnique(findings.dns.servers, draft.dns.servers);
      addUnique(findings.dns.search, draft.dns.search);
    }
  }
  return findings;
}

function draftOrWarning(profile: NmProfile, warnings: CarryOverWarning[]): Draft[] {
  const label = labelOf(profile);
  try {
    const draft = draftOf(profile, label, warnings);
    return draft ? [draft] : [];
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    warnings.push(notCarried(error.id, `${label} from ${profile.source}: ${error.message}`, validName(interfaceNameOf(profile.sections))));
    return [];
  }
}

function draftOf(profile: NmProfile, label: string, warnings: CarryOverWarning[]): Draft | undefined {
  const { sections, source } = profile;
  const type = text(sections, "connection", "type");
  if (!type) throw new Refusal("nm-profile-invalid", "NetworkManager rejects it: [connection] has no type");
  if (type === "loopback") return undefined;
  const kind = KINDS[type];
  if (!kind) throw new Refusal("nm-type-not-carried", `a ${type} connection; configure it on the new system by hand`);
  if (settingNames(sections).includes("802-1x")) throw new Refusal("nm-type-not-carried", "uses 802.1X authentication ([802-1x]); configure it on the new system by hand");
  const portType = text(sections, "connection", "port-type") ?? text(sections, "connection", "slave-type");
  if (portType && portType !== "bond" && portType !== "bridge") throw new Refusal("nm-type-not-carried", `a port of a ${portType}; configure it on the new system by hand`);
  const controllerRef = text(sections, "connection", "controller") ?? text(sections, "connection", "master");
  const name = interfaceNameOf(sections);
  if (name !== undefined && !validName(name)) throw new Refusal("nm-profile-invalid", `interface name "${name}" is not carried`);
  const macs = macsOf(sections, kind);
  if (kind === "ethernet" && !name && !macs.binding) throw new Refusal("nm-profile-unbound", "names no interface and no MAC address, NetworkManager applies it to any Ethernet NIC");
  if ((kind === "bond" || kind === "bridge") && !name) throw new Refusal("nm-profile-invalid", `NetworkManager rejects it: a ${kind} needs interface-name`);
  const isPort = controllerRef !== undefined;
  const say: Say = (id, message) => warnings.push(notCarried(id, `${label} from ${source}: ${message}`, validName(name)));
  const ipv4 = isPort ? undefined : ipv4Of(sections, say);
  const ipv6 = isPort ? undefined : ipv6Of(sections, say);
  const found: FoundInterface = {
    ...(name ? { name } : {}),
    kind,
    ...(macs.own ? { mac: macs.own } : {}),
    activation: (boolean(sections, "connection", "autoconnect") ?? true) ? "boot" : "manual",
    ...mtuOf(sections),
    ...kindSettings(sections, kind),
    ...(ipv4 ? { ipv4: ipv4.family } : {}),
    ...(ipv6 ? { ipv6: ipv6.family } : {}),
    source,
  };
  warnNotCarriedKeys(sections, macs.leftover, say);
  return {
    profile,
    label,
    found,
    controllerRef,
    portType,
    parentRef: kind === "vlan" ? text(sections, "vlan", "parent") : undefined,
    parentMac: kind === "vlan" ? macs.binding : undefined,
    autoconnectPorts: keyfileBoolean(text(sections, "connection", "autoconnect-ports") ?? text(sections, "connection", "autoconnect-slaves")) === true,
    priority: Number.parseInt(text(sections, "connection", "autoconnect-priority") ?? "0", 10) || 0,
    timestamp: integer(text(sections, "connection", "timestamp")) ?? 0,
    dns: { servers: [...(ipv4?.dns ?? []), ...(ipv6?.dns ?? [])], search: [...(ipv4?.search ?? []), ...(ipv6?.search ?? [])] },
  };
}

function labelOf(profile: NmProfile): string {
  return interfaceNameOf(profile.sections) ?? text(profile.sections, "connection", "id") ?? profile.source.split("/").at(-1)!;
}

/** `connection.interface-name`, or where NetworkManager before 1.0 kept it (`[bond]`, `[bridge]`, `[vlan]`). */
function interfaceNameOf(sections: IniSection[]): string | undefined {
  const type = text(sections, "connection", "type") ?? "";
  return text(sections, "connection", "interface-name") ?? (["bond", "bridge", "vlan"].includes(type) ? text(sections, type, "interface-name") : undefined);
}

function validName(name: string | undefined): string | undefined {
  return name && INTERFACE_NAME.test(name) ? name : undefined;
}

/**
 * `mac-address` binds an Ethernet profile to its NIC (a VLAN's to its parent); `cloned-mac-address` is
 * the MAC set on the device: carried for a bond or bridge, for a NIC only when it changes nothing.
 */
function macsOf(sections: IniSection[], kind: InterfaceKind): { binding?: string; own?: string; leftover: string[] } {
  const binding = macValue(text(sections, "ethernet", "mac-address"));
  const cloned = text(sections, "ethernet", "cloned-mac-address");
  const clonedMac = macValue(cloned);
  const keepsOwn = cloned === undefined || cloned === "" || cloned === "preserve" || cloned === "permanent";
  const leftover: string[] = [];
  if (kind === "ethernet") {
    if (!keepsOwn && (!clonedMac || clonedMac !== binding)) leftover.push(`[ethernet] cloned-mac-address=${cloned}`);
    return { binding, own: binding, leftover };
  }
  if (binding && kind !== "vlan") leftover.push(`[ethernet] mac-address=${text(sections, "ethernet", "mac-address")}`);
  const own = kind === "vlan" ? undefined : (clonedMac ?? macValue(text(sections, "bridge", "mac-address")));
  if (!keepsOwn && !own) leftover.push(`[ethernet] cloned-mac-address=${cloned}`);
  return { binding, own, leftover };
}

/** `52:54:00:AA:BB:CC`, or the old keyfile form of six decimal bytes `82;84;0;170;187;204;`. */
function macValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const bytes = value.split(";").filter(Boolean);
  if (bytes.length === 6 && bytes.every((b) => /^\d{1,3}$/.test(b) && Number(b) < 256)) {
    return bytes.map((b) => Number(b).toString(16).padStart(2, "0")).join(":");
  }
  return normalizeMac(value);
}

function mtuOf(sections: IniSection[]): { mtu?: number } {
  const raw = text(sections, "ethernet", "mtu");
  const mtu = integer(raw);
  if (raw === undefined || mtu === 0) return {};
  if (mtu === undefined || mtu < 68 || mtu > 65535) throw new Refusal("nm-profile-invalid", `[ethernet] mtu=${raw} is not an MTU`);
  return { mtu };
}

function kindSettings(sections: IniSection[], kind: InterfaceKind): Partial<FoundInterface> {
  if (kind === "bond") return { bond: bondOf(sections) };
  if (kind === "bridge") return { bridge: bridgeOf(sections) };
  if (kind === "vlan") {
    const id = integer(text(sections, "vlan", "id"));
    if (id === undefined || id > 4094) throw new Refusal("nm-profile-invalid", `[vlan] id=${text(sections, "vlan", "id") ?? ""} is not a VLAN id`);
    // The parent is resolved across profiles (resolveAcross).
    return { vlan: { id, parent: "" } };
  }
  return {};
}

function bondOf(sections: IniSection[]): BondSettings {
  const option = (key: string) => text(sections, "bond", key);
  const mode = named(option("mode") ?? "balance-rr", BOND_MODES, "[bond] mode");
  const lacpRate = option("lacp_rate") === undefined ? undefined : named(option("lacp_rate")!, ["slow", "fast"], "[bond] lacp_rate");
  const xmitHashPolicy = option("xmit_hash_policy") === undefined ? undefined : named(option("xmit_hash_policy")!, XMIT_HASH_POLICIES, "[bond] xmit_hash_policy");
  const arpInterval = integer(option("arp_interval")) ?? 0;
  const miimon = integer(option("miimon")) ?? (arpInterval > 0 ? 0 : NM_DEFAULT_MIIMON);
  return {
    mode,
    miimon,
    ...numberOption("updelay", option("updelay")),
    ...numberOption("downdelay", option("downdelay")),
    ...(lacpRate && lacpRate !== "slow" ? { lacpRate: lacpRate as BondSettings["lacpRate"] } : {}),
    ...(xmitHashPolicy && xmitHashPolicy !== "layer2" ? { xmitHashPolicy } : {}),
    ...(option("primary") ? { primary: option("primary") } : {}),
  };
}

/** A name of `names`, or its number in NetworkManager's order. */
function named(value: string, names: string[], what: string): string {
  const resolved = /^\d+$/.test(value) ? names[Number(value)] : names.find((name) => name === value);
  if (!resolved) throw new Refusal("nm-profile-invalid", `NetworkManager rejects it: ${what}=${value}`);
  return resolved;
}

function numberOption<K extends string>(key: K, value: string | undefined): { [P in K]?: number } {
  if (value === undefined) return {};
  const number = integer(value);
  if (number === undefined) throw new Refusal("nm-profile-invalid", `NetworkManager rejects it: [bond] ${key}=${value}`);
  return number === 0 ? {} : ({ [key]: number } as { [P in K]?: number });
}

/** NetworkManager's bridge default is STP on (the kernel's is off). */
function bridgeOf(sections: IniSection[]): BridgeSettings {
  const stp = boolean(sections, "bridge", "stp") ?? true;
  const forwardDelay = integer(text(sections, "bridge", "forward-delay"));
  return { stp, ...(forwardDelay !== undefined ? { forwardDelay } : {}) };
}

interface FamilyFound<T> {
  family: T;
  dns: string[];
  search: string[];
}

/** Names something of the profile being read that is not carried. */
type Say = (id: string, message: string) => void;

function ipv4Of(sections: IniSection[], say: Say): FamilyFound<CapturedIpv4> | undefined {
  const method = methodOf(sections, "ipv4");
  const gathered = gatherFamily(sections, "ipv4", say);
  if (method === "disabled" || method === "link-local" || method === "shared") {
    if (method !== "shared" && gathered.addresses.length > 0) throw new Refusal("nm-profile-invalid", `NetworkManager rejects it: [ipv4] method=${method} with addresses`);
    if (method !== "disabled") say("ipv4-method-not-carried", `[ipv4] method=${method} (${method === "shared" ? "NAT and DHCP server for others" : "169.254.x.x address"})`);
    return undefined;
  }
  if (method !== "auto" && method !== "manual") throw new Refusal("nm-profile-invalid", `NetworkManager rejects it: [ipv4] method=${method}`);
  if (method === "manual" && gathered.addresses.length === 0 && gathered.routes.length === 0) throw new Refusal("nm-profile-invalid", "NetworkManager rejects it: [ipv4] method=manual without an address");
  return familyFound(sections, "ipv4", method === "auto", gathered, say, (family) => ({ dhcp: method === "auto", ...family }));
}

function ipv6Of(sections: IniSection[], say: Say): FamilyFound<CapturedIpv6> | undefined {
  const method = methodOf(sections, "ipv6");
  const gathered = gatherFamily(sections, "ipv6", say);
  if (method === "ignore" || method === "disabled" || method === "shared") {
    if (method === "shared") say("ipv6-method-not-carried", "[ipv6] method=shared (prefix delegation to others)");
    return undefined;
  }
  const modes: Record<string, { autoconf: boolean; dhcp: boolean }> = {
    auto: { autoconf: true, dhcp: false },
    dhcp: { autoconf: false, dhcp: true },
    manual: { autoconf: false, dhcp: false },
    "link-local": { autoconf: false, dhcp: false },
  };
  const mode = modes[method];
  if (!mode) throw new Refusal("nm-profile-invalid", `NetworkManager rejects it: [ipv6] method=${method}`);
  if (mode.autoconf) warnSlaacAddressForm(sections, say);
  return familyFound(sections, "ipv6", mode.autoconf || mode.dhcp, gathered, say, (family) => ({ ...mode, ...family }));
}

/** A missing [ipv4]/[ipv6] means `auto` to NetworkManager; a present one without `method` is rejected. */
function methodOf(sections: IniSection[], family: Family): string {
  if (!sections.some((s) => s.name === family)) return "auto";
  const method = text(sections, family, "method");
  if (!method) throw new Refusal("nm-profile-invalid", `NetworkManager rejects it: [${family}] has no method`);
  return method;
}

/**
 * The SLAAC address the old system had: EUI-64 (from the MAC) is what every renderer and kernel default
 * forms; a stable-privacy one (RFC 7217, keyed on this host's secret) or temporary addresses cannot be.
 * A keyfile without addr-gen-mode means `default-or-eui64` (NetworkManager keeps old profiles on EUI-64).
 */
function warnSlaacAddressForm(sections: IniSection[], say: Say): void {
  const mode = text(sections, "ipv6", "addr-gen-mode") ?? "default-or-eui64";
  if (!["eui64", "default-or-eui64", "0", "2"].includes(mode)) {
    say("ipv6-address-form", `[ipv6] addr-gen-mode=${mode}, the new system forms its SLAAC address from the MAC (EUI-64), a different address`);
  }
  const privacy = text(sections, "ipv6", "ip6-privacy");
  if (privacy === "1" || privacy === "2") {
    say("ipv6-address-form", `[ipv6] ip6-privacy=${privacy} (temporary addresses)`);
  }
}

interface Gathered {
  addresses: CapturedAddress[];
  gateway?: string;
  routes: CapturedRoute[];
}

function gatherFamily(sections: IniSection[], family: Family, say: Say): Gathered {
  const invalid = (key: string, error: string) => say("nm-value-invalid", `[${family}] ${key}=${itemText(sections, family, key)}: ${error}`);
  const addresses: CapturedAddress[] = [];
  let gateway: string | undefined;
  for (const key of numberedKeys(sections, family, "address")) {
    const parsed = parseNmAddress(itemText(sections, family, key), family);
    if ("error" in parsed) invalid(key, parsed.error);
    else {
      addresses.push(parsed.value.address);
      gateway ??= parsed.value.gateway;
    }
  }
  const gatewayKey = text(sections, family, "gateway");
  if (gatewayKey !== undefined) {
    if (isIp(gatewayKey) && (family === "ipv4") === !gatewayKey.includes(":")) gateway = gatewayKey.toLowerCase();
    else invalid("gateway", "not an address of its family");
  }
  const routes: CapturedRoute[] = [];
  for (const key of numberedKeys(sections, family, "route")) {
    const parsed = parseNmRoute(itemText(sections, family, key), text(sections, family, `${key}_options`), family);
    if ("error" in parsed) invalid(key, parsed.error);
    else routes.push(parsed.value);
  }
  return { addresses, gateway, routes };
}

/**
 * What the family installs: never-default drops the gateway (NetworkManager normalizes it away);
 * route-metric is the gateway's metric and that of every route without one.
 */
function familyFound<T>(
  sections: IniSection[],
  family: Family,
  automatic: boolean,
  gathered: Gathered,
  say: Say,
  make: (family: { neverDefault?: boolean; addresses: CapturedAddress[]; gateway?: { via: string; metric?: number }; routes: CapturedRoute[] }) => T,
): FamilyFound<T> {
  const neverDefault = boolean(sections, family, "never-default") === true;
  const ignoreAutoRoutes = automatic && boolean(sections, family, "ignore-auto-routes") === true;
  const metricValue = integer(text(sections, family, "route-metric"));
  const routeMetric = metricValue !== undefined ? { metric: metricValue } : {};
  if (ignoreAutoRoutes) say("nm-setting-not-carried", `[${family}] ignore-auto-routes=true is carried as never-default, the new system accepts the other routes DHCP or router advertisements give`);
  if (automatic && metricValue !== undefined && !gathered.gateway && !neverDefault && !ignoreAutoRoutes) {
    say("nm-setting-not-carried", `[${family}] route-metric=${metricValue} of the automatic default route`);
  }
  if (automatic && boolean(sections, family, "ignore-auto-dns") === true) {
    say("nm-setting-not-carried", `[${family}] ignore-auto-dns=true, the new system may use name servers DHCP gives`);
  }
  const gateway = gathered.gateway && !neverDefault ? { via: gathered.gateway, ...routeMetric } : undefined;
  const routes = gathered.routes.map((route) => (route.metric === undefined && metricValue !== undefined ? { ...route, metric: metricValue } : route));
  return {
    family: make({ ...(automatic && (neverDefault || ignoreAutoRoutes) ? { neverDefault: true } : {}), addresses: gathered.addresses, ...(gateway ? { gateway } : {}), routes }),
    ...dnsOf(sections, family, say),
  };
}

function dnsOf(sections: IniSection[], family: Family, say: Say): { dns: string[]; search: string[] } {
  const servers = keyfileList(rawValue(sections, family, "dns"));
  const domains = keyfileList(rawValue(sections, family, "dns-search"));
  const dns = servers.filter(isIp).map((server) => server.toLowerCase());
  const search = domains.filter((domain) => !domain.startsWith("~"));
  const left = [...servers.filter((server) => !isIp(server)).map((s) => `dns ${s}`), ...domains.filter((d) => d.startsWith("~")).map((d) => `routing-only domain ${d}`)];
  if (left.length > 0) say("nm-value-invalid", `[${family}] ${left.join(", ")}`);
  return { dns, search };
}

/** Keys with no effect on what a migrated system needs, or read above; a list = only those values. */
const ANY = null;
const COMMON_IP: Record<string, readonly string[] | null> = {
  method: ANY, gateway: ANY, dns: ANY, "dns-search": ANY, "route-metric": ANY, "never-default": ANY, "ignore-auto-routes": ANY, "ignore-auto-dns": ANY,
  "may-fail": ANY, "dhcp-timeout": ANY, "dhcp-hostname": ANY, "dhcp-send-hostname": ANY, "dhcp-send-hostname-v2": ANY, "dhcp-hostname-flags": ANY,
  "dhcp-iaid": ANY, "dad-timeout": ANY, "required-timeout": ANY, "dns-priority": ANY, "dhcp-send-release": ANY, "dhcp-reject-servers": ANY,
  "auto-route-ext-gw": ANY, "replace-local-rule": ANY, "dhcp-dscp": ANY, "route-table": ["0"], "dns-options": [""],
};
const KNOWN_KEYS: Record<string, Record<string, readonly string[] | null>> = {
  connection: {
    id: ANY, uuid: ANY, type: ANY, "interface-name": ANY, autoconnect: ANY, "autoconnect-priority": ANY, "autoconnect-ports": ANY, "autoconnect-slaves": ANY,
    "autoconnect-retries": ANY, timestamp: ANY, controller: ANY, master: ANY, "port-type": ANY, "slave-type": ANY, permissions: [""], secondaries: [""],
    "read-only": ANY, "gateway-ping-timeout": ANY, metered: ANY, lldp: ANY, llmnr: ANY, mdns: ANY, "dns-over-tls": ANY, "stable-id": ANY,
    "auth-retries": ANY, "wait-device-timeout": ANY, "wait-activation-delay": ANY, "multi-connect": ANY, "mptcp-flags": ANY, "down-on-poweroff": ANY, "mud-url": ANY,
  },
  ethernet: {
    "mac-address": ANY, "cloned-mac-address": ANY, mtu: ANY, "auto-negotiate": ["true", "1"], speed: ["0"], duplex: ANY, "wake-on-lan": ANY,
    "wake-on-lan-password": ANY, "mac-address-blacklist": ANY, "mac-address-denylist": ANY, "generate-mac-address-mask": ANY, port: ANY,
    "accept-all-mac-addresses": ["-1", "default", "0", "false"],
  },
  ipv4: { ...COMMON_IP, "dhcp-fqdn": ANY, "dhcp-vendor-class-identifier": ANY, "link-local": ["0", "default", "auto", "1", "disabled"] },
  ipv6: { ...COMMON_IP, "addr-gen-mode": ANY, "ip6-privacy": ANY, "ra-timeout": ANY, "dhcp-pd-hint": ANY, "temp-valid-lifetime": ANY, "temp-preferred-lifetime": ANY, mtu: ["0"], token: [""] },
  bond: {
    mode: ANY, miimon: ANY, updelay: ANY, downdelay: ANY, lacp_rate: ANY, xmit_hash_policy: ANY, primary: ANY, "interface-name": ANY,
    arp_interval: ["0"], use_carrier: ["1"], ad_select: ["stable", "0"], fail_over_mac: ["none", "0"], primary_reselect: ["always", "0"],
    resend_igmp: ["1"], num_grat_arp: ["1"], num_unsol_na: ["1"], min_links: ["0"], all_slaves_active: ["0"], tlb_dynamic_lb: ["1"],
    lp_interval: ["1"], packets_per_slave: ["1"], arp_validate: ["none", "0"], lacp_active: ["on", "1"],
  },
  bridge: {
    stp: ANY, "forward-delay": ANY, "interface-name": ANY, "mac-address": ANY, priority: ["32768"], "hello-time": ["2"], "max-age": ["20"],
    "ageing-time": ["300"], "multicast-snooping": ["true", "1"], "vlan-filtering": ["false", "0"], "group-forward-mask": ["0"],
  },
  "bridge-port": { priority: ["32"], "path-cost": ["100"], "hairpin-mode": ["false", "0"] },
  "bond-port": { "queue-id": ["0"], prio: ["0"] },
  vlan: { id: ANY, parent: ANY, "interface-name": ANY, flags: ["1"], "ingress-priority-map": [""], "egress-priority-map": [""], protocol: ["802.1Q"] },
  proxy: {},
  user: {},
  hostname: {},
};
const ANY_KEY_SETTINGS = ["proxy", "user", "hostname"];
const NUMBERED_IP_KEY = /^(address|addresses|route|routes)(0|[1-9]\d*)?(_options)?$/;

/** One warning naming every setting of the profile that is not carried. */
function warnNotCarriedKeys(sections: IniSection[], leftover: string[], say: Say): void {
  const left = [...leftover];
  for (const setting of settingNames(sections)) {
    const known = KNOWN_KEYS[setting];
    if (!known) {
      left.push(`[${setting}]`);
      continue;
    }
    if (ANY_KEY_SETTINGS.includes(setting)) continue;
    for (const key of keysOf(sections, setting)) {
      if ((setting === "ipv4" || setting === "ipv6") && NUMBERED_IP_KEY.test(key)) continue;
      const value = text(sections, setting, key) ?? "";
      const allowed = known[key];
      if (allowed === undefined || (allowed !== ANY && !allowed.includes(value))) left.push(`[${setting}] ${key}=${value}`);
    }
  }
  if (left.length > 0) say("nm-setting-not-carried", left.join(", "));
}

/**
 * Several profiles for one device: NetworkManager brings up one at boot (autoconnect, then the higher
 * autoconnect-priority, then the one used last); the others are named.
 */
function onePerDevice(drafts: Draft[], warnings: CarryOverWarning[]): Draft[] {
  const groups = new Map<string, Draft[]>();
  for (const draft of drafts) {
    const key = draft.found.kind === "ethernet" && draft.found.mac ? `mac:${draft.found.mac}` : `name:${draft.found.name ?? draft.profile.uuid}`;
    groups.set(key, [...(groups.get(key) ?? []), draft]);
  }
  const chosen = new Set<Draft>();
  for (const group of groups.values()) {
    const [winner, ...others] = group.sort((a, b) => Number(b.found.activation === "boot") - Number(a.found.activation === "boot") || b.priority - a.priority || b.timestamp - a.timestamp);
    chosen.add(winner!);
    for (const other of others) {
      warnings.push(notCarried("nm-profile-shadowed", `${other.label} from ${other.profile.source}: ${winner!.profile.source} configures the same device and is the one NetworkManager brings up`, validName(other.found.name)));
    }
  }
  return drafts.filter((draft) => chosen.has(draft));
}

/**
 * Controllers and VLAN parents are named by UUID or interface name; each becomes the interface name of
 * a carried profile. A reference to a profile that is not carried leaves its dependent too (repeated
 * until nothing more falls away).
 */
function resolveAcross(drafts: Draft[], all: NmProfile[], root: string, warnings: CarryOverWarning[]): Draft[] {
  let carried = drafts;
  for (;;) {
    const next = carried.filter((draft) => {
      const problem = resolveDraft(draft, carried, all, root);
      if (problem) warnings.push(notCarried("nm-reference-not-carried", `${draft.label} from ${draft.profile.source}: ${problem}`, validName(draft.found.name)));
      return !problem;
    });
    if (next.length === carried.length) return next;
    carried = next;
  }
}

function resolveDraft(draft: Draft, carried: Draft[], all: NmProfile[], root: string): string | undefined {
  const { found } = draft;
  if (draft.controllerRef !== undefined) {
    const controller = lookUp(draft.controllerRef, carried, all);
    if ("problem" in controller) return `its controller ${controller.problem}`;
    const controllerKind = controller.draft?.found.kind;
    if (controllerKind && controllerKind !== "bond" && controllerKind !== "bridge") return `its controller ${draft.controllerRef} is a ${controllerKind}`;
    if (controllerKind && draft.portType && draft.portType !== controllerKind) return `port-type ${draft.portType} does not match its controller, a ${controllerKind}`;
    if (!controllerKind && !draft.portType) return `its controller ${draft.controllerRef} is not a profile here and the profile has no port-type`;
    found.controller = controller.name;
    if (found.activation === "manual" && controller.draft?.autoconnectPorts && controller.draft.found.activation === "boot") found.activation = "boot";
  }
  if (found.vlan) {
    const parent = vlanParent(draft, carried, all, root);
    if ("problem" in parent) return parent.problem;
    found.vlan.parent = parent.name;
    found.name ??= vlanInterfaceName(parent.name, found.vlan.id);
  }
  return undefined;
}

type LookedUp = { name?: string; draft?: Draft } | { problem: string };

/** A UUID first, then an interface name, as NetworkManager looks a controller up. */
function lookUp(reference: string, carried: Draft[], all: NmProfile[]): LookedUp {
  const byUuid = carried.find((draft) => draft.profile.uuid === reference.toLowerCase());
  if (byUuid) return { name: byUuid.found.name, draft: byUuid };
  if (all.some((profile) => profile.uuid === reference.toLowerCase())) return { problem: `${reference} is a profile that is not carried` };
  if (UUID.test(reference)) return { problem: `${reference} is no profile's UUID` };
  const byName = carried.find((draft) => draft.found.name === reference);
  if (byName) return { name: reference, draft: byName };
  if (all.some((profile) => interfaceNameOf(profile.sections) === reference)) return { problem: `${reference} is a profile that is not carried` };
  return validName(reference) ? { name: reference } : { problem: `"${reference}" is not an interface name` };
}

/** `parent=` (UUID or name), else the NIC `[ethernet] mac-address` names; a MAC-bound parent is named by /sys/class/net. */
function vlanParent(draft: Draft, carried: Draft[], all: NmProfile[], root: string): { name: string } | { problem: string } {
  const parent: LookedUp = draft.parentRef ? lookUp(draft.parentRef, carried, all) : { draft: carried.find((other) => other.found.kind === "ethernet" && other.found.mac === draft.parentMac) };
  if ("problem" in parent) return { problem: `its parent ${parent.problem}` };
  const mac = parent.draft?.found.mac ?? (draft.parentRef ? undefined : draft.parentMac);
  const name = parent.name ?? (mac ? nicNameOf(root, mac) : undefined);
  if (name) return { name };
  return { problem: draft.parentRef ? `its parent ${draft.parentRef} names no interface and no NIC here has its MAC` : "[vlan] has no parent and no NIC here has the [ethernet] mac-address" };
}

function nicNameOf(root: string, mac: string): string | undefined {
  return sysNetDevices(root).find((device) => device.permanentMac === mac)?.name;
}

/** NetworkManager's name for a VLAN without interface-name: PARENT.ID, the parent cut to fit 15 characters. */
function vlanInterfaceName(parent: string, id: number): string {
  const suffix = `.${id}`;
  return `${parent.slice(0, 15 - suffix.length)}${suffix}`;
}

function text(sections: IniSection[], section: string, key: string): string | undefined {
  return keyfileString(rawValue(sections, section, key))?.trim();
}

function boolean(sections: IniSection[], section: string, key: string): boolean | undefined {
  const raw = text(sections, section, key);
  const value = keyfileBoolean(raw);
  if (raw !== undefined && value === undefined) throw new Refusal("nm-profile-invalid", `NetworkManager rejects it: [${sectionNameIn(sections, section)}] ${key}=${raw} is not a boolean`);
  return value;
}

function integer(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}
