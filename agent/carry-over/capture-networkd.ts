import type { BondSettings, CapturedAddress, CapturedGateway, CapturedIpv4, CapturedIpv6, CapturedRoute, CarryOverWarning, InterfaceKind } from "./captured-config.ts";
import type { IniSection } from "./ini-file.ts";
import { iniValue, iniValues } from "./ini-file.ts";
import { defaultDestination, familyOf, isIp, parseCidr } from "./ip-address.ts";
import { addUnique, emptyFindings, type FoundInterface, type NetworkFindings, normalizeMac, notCarried } from "./network-findings.ts";
import { type NetworkdFile, networkdFiles } from "./networkd-files.ts";
import { isGlob, matchDevice, type MatchTarget } from "./networkd-match.ts";
import { listRootDir, readRootFile } from "./root-files.ts";
import { sysNetDevices } from "./sys-class-net.ts";
import { byteSize, listValues, sectionValue, systemdBoolean, timeSpanMs } from "./systemd-values.ts";

const CARRIED_KINDS = ["bond", "vlan", "bridge"] as const;
type CarriedKind = (typeof CARRIED_KINDS)[number];
const BOND_MODES = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];
const HASH_POLICIES = ["layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4", "vlan+srcmac"];

/** Keys read here, and keys that change nothing a boot needs; any other key is reported by name. */
const NETWORK_KEYS: Record<string, { read: string[]; harmless: string[] }> = {
  Link: { read: ["MACAddress", "MTUBytes", "ActivationPolicy", "Unmanaged"], harmless: ["RequiredForOnline", "RequiredFamilyForOnline", "Multicast", "AllMulticast", "Promiscuous", "Group"] },
  Network: {
    read: ["Address", "Gateway", "DNS", "Domains", "DHCP", "IPv6AcceptRA", "IPv6AcceptRouterAdvertisements", "LinkLocalAddressing", "Bond", "Bridge", "VLAN", "PrimarySlave", "IPForward", "IPv4Forwarding", "IPv6Forwarding"],
    harmless: ["Description", "ConfigureWithoutCarrier", "IgnoreCarrierLoss", "KeepConfiguration", "LLMNR", "MulticastDNS", "DNSSEC", "DNSSECNegativeTrustAnchors", "DNSOverTLS", "DNSDefaultRoute", "LLDP", "EmitLLDP", "NTP", "IPv6PrivacyExtensions", "IPv6LinkLocalAddressGenerationMode", "IPv6DuplicateAddressDetection", "IPv6HopLimit", "IPv4LLRoute", "ActiveSlave"],
  },
  Address: { read: ["Address", "Peer"], harmless: ["Label", "Broadcast", "DuplicateAddressDetection", "PreferredLifetime", "HomeAddress", "ManageTemporaryAddress"] },
  Route: { read: ["Destination", "Gateway", "Metric", "Table", "Scope", "PreferredSource", "GatewayOnLink", "Type"], harmless: ["Protocol", "IPv6Preference"] },
  DHCPv4: {
    read: ["UseGateway", "UseRoutes", "RouteMetric"],
    harmless: ["UseDNS", "UseNTP", "UseSIP", "UseHostname", "UseDomains", "UseMTU", "UseTimezone", "UseCaptivePortal", "SendHostname", "Hostname", "ClientIdentifier", "DUIDType", "DUIDRawData", "IAID", "VendorClassIdentifier", "UserClass", "MaxAttempts", "SendRelease", "Anonymize", "RequestBroadcast", "CriticalConnection", "Label"],
  },
  DHCPv6: { read: ["WithoutRA"], harmless: ["UseDNS", "UseNTP", "UseHostname", "UseDomains", "UseCaptivePortal", "DUIDType", "DUIDRawData", "IAID", "RapidCommit", "SendHostname", "Hostname"] },
  IPv6AcceptRA: { read: ["UseGateway", "RouteMetric"], harmless: ["UseDNS", "UseDomains", "UseMTU", "UseHopLimit", "UseReachableTime", "UseRetransmissionTime", "UseCaptivePortal", "UsePREF64"] },
};
/** networkd still reads [DHCP] as the old name of [DHCPv4] (netplan writes it). */
NETWORK_KEYS.DHCP = NETWORK_KEYS.DHCPv4!;

const NETDEV_KEYS: Record<string, { read: string[]; harmless: string[] }> = {
  NetDev: { read: ["Name", "Kind", "MACAddress", "MTUBytes"], harmless: ["Description"] },
  Bond: { read: ["Mode", "MIIMonitorSec", "UpDelaySec", "DownDelaySec", "LACPTransmitRate", "TransmitHashPolicy"], harmless: ["ResendIGMP", "GratuitousARP", "LearnPacketIntervalSec", "PeerNotifyDelaySec", "AdActorSystemPriority", "AdUserPortKey", "AdActorSystem"] },
  VLAN: { read: ["Id", "Protocol"], harmless: ["GVRP", "MVRP", "LooseBinding", "ReorderHeader"] },
  Bridge: { read: ["STP", "ForwardDelaySec"], harmless: ["HelloTimeSec", "MaxAgeSec", "AgeingTimeSec", "Priority", "MulticastQuerier", "MulticastSnooping", "MulticastIGMPVersion"] },
};

/** A virtual device a `.netdev` creates. */
interface Netdev {
  name: string;
  kind: string;
  file: NetworkdFile;
  carried: boolean;
}

/** A device networkd would pick a `.network` for: a virtual one, a NIC of /sys/class/net, or one a file names. */
interface Device {
  target: MatchTarget;
  netdev?: Netdev;
  /** Only when /sys/class/net is not there: a NIC known only from a file's [Match] glob, matched by that file alone. */
  patternOf?: NetworkdFile;
}

interface Context {
  netdevs: Map<string, Netdev>;
  warnings: CarryOverWarning[];
  /** The IPv6AcceptRA= default: RAs are ignored when the system forwards IPv6. */
  forwardsIpv6: boolean;
}

/**
 * systemd-networkd as it configures this system: the `.netdev` and `.network` files of every directory
 * with their precedence, masks and drop-ins; for each device the first matching `.network` in lexical
 * order. Bonds, VLANs and bridges are carried; other kinds and settings are reported by name.
 */
export function captureNetworkd(root: string): NetworkFindings {
  const findings = emptyFindings();
  const netdevs = captureNetdevs(root, findings.warnings);
  const networks = networkdFiles(root, ".network");
  const devices = devicesOf(root, netdevs, networks);
  const { chosen, touched } = chooseNetworks(devices, networks, findings.warnings);
  reportUnmatched(networks, touched, findings.warnings);
  const context: Context = { netdevs, warnings: findings.warnings, forwardsIpv6: systemForwardsIpv6(root) };
  const vlanParents = vlanParentsOf(chosen, context);
  for (const [device, file] of chosen) {
    const found = file ? fromNetwork(device, file, vlanParents, context) : fromBareNetdev(device, vlanParents, context);
    if (!found) continue;
    findings.interfaces.push(found);
    if (file && !found.controller) captureDns(file, device, findings);
  }
  assignPrimaries(chosen, findings.interfaces, findings.warnings);
  dropOrphanPorts(findings.interfaces, findings.warnings);
  return findings;
}

// ---- .netdev ----

function captureNetdevs(root: string, warnings: CarryOverWarning[]): Map<string, Netdev> {
  const netdevs = new Map<string, Netdev>();
  for (const file of networkdFiles(root, ".netdev")) {
    const name = iniValue(file.sections, "NetDev", "Name");
    const kind = iniValue(file.sections, "NetDev", "Kind");
    if (!name || !kind) {
      warnings.push(notCarried("netdev-invalid", `${file.path} has no [NetDev] Name= or Kind=; networkd ignores it`));
      continue;
    }
    if (netdevs.has(name)) {
      warnings.push(notCarried("duplicate-netdev", `${file.path} creates ${name} again; ${netdevs.get(name)!.file.path} is the one used`, name));
      continue;
    }
    const carried = isCarriedKind(kind) && netdevConditionsHold(file, name, warnings);
    if (!isCarriedKind(kind)) warnings.push(notCarried("netdev-not-carried", `${name} from ${file.path} is a ${kind} (Kind=${kind}); it and its .network are not carried, configure them on the new system by hand`, name));
    netdevs.set(name, { name, kind, file, carried });
  }
  return netdevs;
}

function isCarriedKind(kind: string): kind is CarriedKind {
  return (CARRIED_KINDS as readonly string[]).includes(kind);
}

/** A .netdev's [Match] holds conditions (Host=, Virtualization=…) this capture cannot evaluate. */
function netdevConditionsHold(file: NetworkdFile, name: string, warnings: CarryOverWarning[]): boolean {
  const conditions = file.sections.filter((s) => s.name === "Match").flatMap((s) => s.entries.map(([key]) => key));
  if (conditions.length === 0) return true;
  warnings.push(notCarried("netdev-condition", `${name} from ${file.path} is created only when [Match] ${conditions.join(", ")} hold, which cannot be checked here`, name));
  return false;
}

// ---- devices and the first matching .network ----

function devicesOf(root: string, netdevs: Map<string, Netdev>, networks: NetworkdFile[]): Device[] {
  const virtual = [...netdevs.values()].map((netdev) => ({ netdev, target: netdevTarget(netdev) }));
  const sys = sysNetDevices(root);
  const nics = sys.length > 0
    ? sys.filter((d) => d.physical && !netdevs.has(d.name)).map((d) => ({ target: { name: d.name, mac: d.permanentMac, permanentMac: d.permanentMac, type: d.type, driver: d.driver } }))
    : namedNics(networks, netdevs);
  return [...virtual, ...nics];
}

function netdevTarget(netdev: Netdev): MatchTarget {
  const mac = normalizeMac(iniValue(netdev.file.sections, "NetDev", "MACAddress"));
  return { name: netdev.name, kind: netdev.kind, type: ["dummy", "veth"].includes(netdev.kind) ? "ether" : netdev.kind, ...(mac ? { mac } : {}) };
}

/** Without /sys/class/net the NICs are those the files name: exact names and MACs, else the glob itself. */
function namedNics(networks: NetworkdFile[], netdevs: Map<string, Netdev>): Device[] {
  const devices: Device[] = [];
  for (const file of networks) {
    const names = listValues(file.sections, "Match", "Name");
    const macs = [...listValues(file.sections, "Match", "MACAddress"), ...listValues(file.sections, "Match", "PermanentMACAddress")].flatMap((m) => normalizeMac(m) ?? []);
    const exact = names.filter((name) => !isGlob(name) && !netdevs.has(name));
    if (names.some(isGlob) && macs.length === 0) devices.push({ target: { name: names.join(" "), type: "ether" }, patternOf: file });
    else if (exact.length === 1 && macs.length === 1) addNic(devices, { name: exact[0], mac: macs[0], permanentMac: macs[0], type: "ether" });
    else {
      for (const name of exact) addNic(devices, { name, type: "ether" });
      for (const mac of macs) addNic(devices, { mac, permanentMac: mac, type: "ether" });
    }
  }
  return devices;
}

function addNic(devices: Device[], target: MatchTarget): void {
  const known = devices.some((d) => !d.patternOf && ((target.name && d.target.name === target.name) || (target.mac && d.target.mac === target.mac)));
  if (!known) devices.push({ target });
}

/**
 * networkd semantics: the first `.network` in lexical order that matches wins; later ones are ignored for it.
 * Returns the choice per device and every file that matched, or may have matched, some device.
 */
function chooseNetworks(devices: Device[], networks: NetworkdFile[], warnings: CarryOverWarning[]): { chosen: Map<Device, NetworkdFile | undefined>; touched: Set<NetworkdFile> } {
  const chosen = new Map<Device, NetworkdFile | undefined>();
  const touched = new Set<NetworkdFile>();
  for (const device of devices) {
    const label = deviceLabel(device);
    let first: NetworkdFile | undefined;
    let uncertain = false;
    for (const file of networks) {
      if (device.patternOf && device.patternOf !== file) continue;
      const match = matchDevice(file.sections, device.target);
      if (match.result === "no") continue;
      touched.add(file);
      if (first || uncertain) {
        if (first && match.result === "yes") warnings.push(notCarried("duplicate-network", `${file.path} also matches ${label}; networkd uses the first match, ${first.path}, and ignores it`, device.target.name));
        continue;
      }
      if (match.result === "unknown") {
        warnings.push(notCarried("network-match-unknown", `${file.path} may configure ${label} by [Match] ${match.keys.join(", ")}, which cannot be checked here; ${label} is not carried`, device.target.name));
        uncertain = true;
      } else first = file;
    }
    if (!uncertain && (first || device.netdev)) chosen.set(device, first);
  }
  return { chosen, touched };
}

function deviceLabel(device: Device): string {
  return device.target.name ?? `MAC ${device.target.mac}`;
}

function reportUnmatched(networks: NetworkdFile[], touched: Set<NetworkdFile>, warnings: CarryOverWarning[]): void {
  for (const file of networks) {
    if (!touched.has(file) && !file.vendor) {
      warnings.push(notCarried("network-file-unmatched", `${file.path} matches no interface of this system`));
    }
  }
}

// ---- one interface ----

/** A virtual device no .network matches is created but never set up: it stays down. */
function fromBareNetdev(device: Device, vlanParents: Map<string, string>, context: Context): FoundInterface | undefined {
  const netdev = device.netdev!;
  const part = netdev.carried ? netdevPart(netdev, "manual", context, vlanParents) : undefined;
  return part ? ({ name: netdev.name, ...part, source: netdev.file.path } as FoundInterface) : undefined;
}

function fromNetwork(device: Device, file: NetworkdFile, vlanParents: Map<string, string>, context: Context): FoundInterface | undefined {
  const { netdev, target } = device;
  if (netdev && !netdev.carried) return undefined;
  const name = target.name;
  const label = deviceLabel(device);
  const warn = (id: string, message: string) => context.warnings.push(notCarried(id, `${label} in ${file.path}: ${message}`, device.patternOf ? undefined : name));
  if (systemdBoolean(iniValue(file.sections, "Link", "Unmanaged"))) {
    warn("networkd-unmanaged", "Unmanaged=yes, networkd leaves it to something else");
    return undefined;
  }
  reportUnreadKeys(file, NETWORK_KEYS, warn);
  const activation = activationOf(file, warn);
  const controller = controllerOf(file, warn, context);
  if (controller === null) return undefined;
  const link = linkSettings(file, !!netdev, warn);
  const base = netdev ? netdevPart(netdev, activation, context, vlanParents) : { kind: "ethernet" as InterfaceKind, activation };
  if (!base) return undefined;
  const families = controller ? portHasNoAddresses(file, warn) : addressFamilies(file, netdev?.kind === "bridge", warn, context);
  return {
    ...(name ? { name } : {}),
    ...(!netdev && target.permanentMac ? { mac: target.permanentMac } : {}),
    ...base,
    ...(link.mac ? { mac: link.mac } : {}),
    ...(link.mtu ? { mtu: link.mtu } : {}),
    ...(controller ? { controller } : {}),
    ...families,
    source: file.path,
  } as FoundInterface;
}

function netdevPart(netdev: Netdev, activation: FoundInterface["activation"], context: Context, vlanParents: Map<string, string>): Partial<FoundInterface> | undefined {
  const sections = netdev.file.sections;
  const warn = (id: string, message: string) => context.warnings.push(notCarried(id, `${netdev.name} in ${netdev.file.path}: ${message}`, netdev.name));
  reportUnreadKeys(netdev.file, NETDEV_KEYS, warn);
  const mac = normalizeMac(iniValue(sections, "NetDev", "MACAddress"));
  const mtu = mtuOf(iniValue(sections, "NetDev", "MTUBytes"), "NetDev", warn);
  const common = { activation, ...(mac ? { mac } : {}), ...(mtu ? { mtu } : {}) };
  if (netdev.kind === "bond") return { kind: "bond", ...common, bond: bondSettings(sections, warn) };
  if (netdev.kind === "bridge") return { kind: "bridge", ...common, bridge: bridgeSettings(sections, warn) };
  const id = Number(iniValue(sections, "VLAN", "Id"));
  const parent = vlanParents.get(netdev.name);
  const protocol = iniValue(sections, "VLAN", "Protocol");
  if (!Number.isInteger(id) || id < 0 || id > 4094 || iniValue(sections, "VLAN", "Id") === undefined) warn("malformed-value", `[VLAN] Id=${iniValue(sections, "VLAN", "Id") ?? ""} is not a VLAN id; the VLAN is not carried`);
  else if (protocol && protocol !== "802.1q") warn("vlan-protocol-not-carried", `[VLAN] Protocol=${protocol} (only 802.1q VLANs are carried); the VLAN is not carried`);
  else if (parent) return { kind: "vlan", ...common, vlan: { id, parent } };
  return undefined;
}

function bondSettings(sections: IniSection[], warn: (id: string, message: string) => void): BondSettings {
  const text = (key: string) => iniValue(sections, "Bond", key);
  const mode = text("Mode") ?? "balance-rr";
  const settings: BondSettings = { mode: BOND_MODES.includes(mode) ? mode : "balance-rr" };
  if (!BOND_MODES.includes(mode)) warn("malformed-value", `[Bond] Mode=${mode} is not a bonding mode; the kernel default balance-rr is carried`);
  for (const [key, field] of [["MIIMonitorSec", "miimon"], ["UpDelaySec", "updelay"], ["DownDelaySec", "downdelay"]] as const) {
    if (text(key) === undefined) continue;
    const ms = timeSpanMs(text(key));
    if (ms === undefined) warn("malformed-value", `[Bond] ${key}=${text(key)} is not a time span`);
    else settings[field] = Math.floor(ms);
  }
  const rate = text("LACPTransmitRate");
  if (rate === "slow" || rate === "fast") settings.lacpRate = rate;
  else if (rate !== undefined) warn("malformed-value", `[Bond] LACPTransmitRate=${rate} is neither slow nor fast`);
  const hash = text("TransmitHashPolicy");
  if (hash && HASH_POLICIES.includes(hash)) settings.xmitHashPolicy = hash;
  else if (hash !== undefined) warn("malformed-value", `[Bond] TransmitHashPolicy=${hash} is not carried`);
  return settings;
}

function bridgeSettings(sections: IniSection[], warn: (id: string, message: string) => void) {
  const stpText = iniValue(sections, "Bridge", "STP");
  const stp = systemdBoolean(stpText);
  if (stpText !== undefined && stp === undefined) warn("malformed-value", `[Bridge] STP=${stpText} is not a boolean; STP off (the default) is carried`);
  const delayText = iniValue(sections, "Bridge", "ForwardDelaySec");
  const delay = timeSpanMs(delayText);
  const seconds = delay !== undefined && delay % 1000 === 0 ? delay / 1000 : undefined;
  if (delayText !== undefined && seconds === undefined) warn("malformed-value", `[Bridge] ForwardDelaySec=${delayText} is not a whole number of seconds`);
  return { stp: stp ?? false, ...(seconds !== undefined ? { forwardDelay: seconds } : {}) };
}

function activationOf(file: NetworkdFile, warn: (id: string, message: string) => void): FoundInterface["activation"] {
  const policy = iniValue(file.sections, "Link", "ActivationPolicy");
  if (policy === undefined || policy === "up" || policy === "always-up") return "boot";
  if (["manual", "down", "always-down"].includes(policy)) return "manual";
  warn(policy === "bound" ? "activation-not-carried" : "malformed-value", `ActivationPolicy=${policy} is not carried; it is brought up at boot`);
  return "boot";
}

function linkSettings(file: NetworkdFile, virtual: boolean, warn: (id: string, message: string) => void): { mac?: string; mtu?: number } {
  const macText = iniValue(file.sections, "Link", "MACAddress");
  const mac = normalizeMac(macText);
  if (macText !== undefined && !mac) warn("malformed-value", `[Link] MACAddress=${macText} is not a MAC address`);
  if (mac && !virtual) warn("mac-not-carried", `[Link] MACAddress=${mac} (a MAC set on the NIC) is not carried; it keeps its own`);
  const mtu = mtuOf(iniValue(file.sections, "Link", "MTUBytes"), "Link", warn);
  return { ...(mac && virtual ? { mac } : {}), ...(mtu ? { mtu } : {}) };
}

function mtuOf(text: string | undefined, section: string, warn: (id: string, message: string) => void): number | undefined {
  if (text === undefined) return undefined;
  const mtu = byteSize(text);
  if (mtu !== undefined && mtu >= 68 && mtu <= 65535) return mtu;
  warn("malformed-value", `[${section}] MTUBytes=${text} is not an MTU`);
  return undefined;
}

/** The bond or bridge this device is a port of; null when it names none (networkd fails such a link). */
function controllerOf(file: NetworkdFile, warn: (id: string, message: string) => void, context: Context): string | undefined | null {
  for (const key of ["Bond", "Bridge"] as const) {
    const name = iniValue(file.sections, "Network", key);
    if (!name) continue;
    const netdev = context.netdevs.get(name);
    if (netdev?.kind !== key.toLowerCase()) {
      warn("controller-missing", `${key}=${name} names no ${key.toLowerCase()} of a .netdev; networkd fails this port, it is not carried`);
      return null;
    }
    return name;
  }
  return undefined;
}

function portHasNoAddresses(file: NetworkdFile, warn: (id: string, message: string) => void): Record<string, never> {
  const keys = ["Address", "Gateway", "DHCP"].filter((key) => iniValues(file.sections, "Network", key).some((v) => !["", "no", "false", "none"].includes(v.toLowerCase())));
  const sections = ["Address", "Route"].filter((name) => file.sections.some((s) => s.name === name)).map((name) => `[${name}]`);
  if (keys.length + sections.length > 0) warn("port-addresses-not-carried", `a bond or bridge port has no addresses or routes of its own; ${[...keys.map((k) => `${k}=`), ...sections].join(", ")} not carried`);
  return {};
}

/** Sections and keys not read here, and not harmless, are named: they are left behind. */
function reportUnreadKeys(file: NetworkdFile, known: Record<string, { read: string[]; harmless: string[] }>, warn: (id: string, message: string) => void): void {
  const reported = new Set<string>();
  file.sections.forEach((section, index) => {
    if (section.name === "Match") return; // read by matchDevice or netdevConditionsHold
    const keys = known[section.name];
    const where = file.sectionSources[index] === file.path ? "" : ` (${file.sectionSources[index]})`;
    if (!keys) {
      if (!reported.has(section.name)) warn("networkd-section-not-carried", `[${section.name}]${where} is not carried`);
      reported.add(section.name);
      return;
    }
    for (const [key, value] of section.entries) {
      if (!keys.read.includes(key) && !keys.harmless.includes(key)) warn("networkd-setting-not-carried", `[${section.name}] ${key}=${value}${where} is not carried`);
    }
  });
}

// ---- addresses, gateways, routes ----

interface FamilyParts {
  addresses: CapturedAddress[];
  gateway?: CapturedGateway;
  routes: CapturedRoute[];
}

function addressFamilies(file: NetworkdFile, isBridge: boolean, warn: (id: string, message: string) => void, context: Context): { ipv4?: CapturedIpv4; ipv6?: CapturedIpv6 } {
  const sections = file.sections;
  const parts = { ipv4: emptyParts(), ipv6: emptyParts() };
  for (const text of iniValues(sections, "Network", "Address")) addAddress(parts, text, undefined, warn);
  for (const section of sections.filter((s) => s.name === "Address")) {
    const text = sectionValue(section, "Address");
    if (text) addAddress(parts, text, sectionValue(section, "Peer"), warn);
    else warn("malformed-value", "an [Address] section has no Address=");
  }
  for (const via of iniValues(sections, "Network", "Gateway")) addGateway(parts, { to: "", via }, warn);
  for (const section of sections.filter((s) => s.name === "Route")) addRoute(parts, section, warn);
  const dhcp = dhcpFamilies(iniValue(sections, "Network", "DHCP"), warn);
  reportForwarding(sections, warn);
  const linkLocal = linkLocalOf(iniValue(sections, "Network", "LinkLocalAddressing"), warn);
  const acceptRa = raAccepted(sections, isBridge, context, warn);
  const autoconf = acceptRa && linkLocal.ipv6;
  const dhcpv6 = dhcp.ipv6 && solicitsDhcpv6(sections, autoconf, warn);
  const ipv4: CapturedIpv4 | undefined = hasAny(parts.ipv4) || dhcp.ipv4 ? { dhcp: dhcp.ipv4, ...dhcpv4NeverDefault(sections, dhcp.ipv4, warn), ...parts.ipv4 } : undefined;
  const ipv6: CapturedIpv6 | undefined = hasAny(parts.ipv6) || dhcpv6 || autoconf ? { autoconf, dhcp: dhcpv6, ...raNeverDefault(sections, autoconf, warn), ...parts.ipv6 } : undefined;
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}

function emptyParts(): FamilyParts {
  return { addresses: [], routes: [] };
}

function hasAny(parts: FamilyParts): boolean {
  return parts.addresses.length > 0 || parts.routes.length > 0 || parts.gateway !== undefined;
}

/** `Peer=` is a point-to-point address: the local address alone, and an on-link route to the peer. */
function addAddress(parts: { ipv4: FamilyParts; ipv6: FamilyParts }, text: string, peerText: string | undefined, warn: (id: string, message: string) => void): void {
  const peer = peerText === undefined ? undefined : parseCidr(peerText, { ipv4: 32, ipv6: 128 });
  const address = parseCidr(text, peer ? { ipv4: 32, ipv6: 128 } : undefined);
  const family = address && familyOf(address.address);
  if (!address || !family || (peerText !== undefined && (!peer || familyOf(peer.address) !== family))) {
    warn("address-not-carried", `Address=${text}${peerText ? ` Peer=${peerText}` : ""} is not an address with a prefix length`);
    return;
  }
  if (/^(0\.0\.0\.0|::)$/.test(address.address)) {
    warn("address-not-carried", `Address=${text} asks networkd to pick a free address from a pool`);
    return;
  }
  parts[family].addresses.push(peer ? { address: address.address, prefix: family === "ipv4" ? 32 : 128 } : address);
  if (peer) parts[family].routes.push({ to: `${peer.address}/${peer.prefix}` });
}

const TABLES: Record<string, number> = { default: 253, main: 254, local: 255 };
const ROUTE_TYPES = ["unicast", "local", "blackhole", "unreachable", "prohibit"];
const SCOPES = ["global", "link", "host"];

function addRoute(parts: { ipv4: FamilyParts; ipv6: FamilyParts }, section: IniSection, warn: (id: string, message: string) => void): void {
  const value = (key: string) => sectionValue(section, key);
  const describe = section.entries.map(([k, v]) => `${k}=${v}`).join(" ");
  const refuse = (why: string) => warn("route-not-carried", `[Route] ${describe}: ${why}`);
  const route: CapturedRoute = { to: "" };
  const via = value("Gateway");
  if (via !== undefined) {
    if (via.startsWith("_")) return refuse(`Gateway=${via} (a gateway from DHCP or router advertisements) is not carried`);
    if (!isIp(via)) return refuse(`Gateway=${via} is not an address`);
    route.via = via;
  }
  for (const [key, field] of [["Metric", "metric"], ["Table", "table"]] as const) {
    const text = value(key);
    if (text === undefined) continue;
    const number = /^\d+$/.test(text) ? Number(text) : key === "Table" ? TABLES[text] : undefined;
    if (number === undefined) return refuse(`${key}=${text} is not a number${key === "Table" ? " or a standard table" : ""}`);
    route[field] = number;
  }
  const src = value("PreferredSource");
  if (src !== undefined) {
    if (!isIp(src)) return refuse(`PreferredSource=${src} is not an address`);
    route.src = src;
  }
  const onlink = value("GatewayOnLink");
  if (onlink !== undefined) {
    if (systemdBoolean(onlink) === undefined) return refuse(`GatewayOnLink=${onlink} is not a boolean`);
    if (systemdBoolean(onlink)) route.onlink = true;
  }
  const scope = value("Scope");
  if (scope !== undefined) {
    if (!SCOPES.includes(scope)) return refuse(`Scope=${scope} is not carried`);
    route.scope = scope as CapturedRoute["scope"];
  }
  const type = value("Type");
  if (type !== undefined) {
    if (!ROUTE_TYPES.includes(type)) return refuse(`Type=${type} is not carried`);
    if (type !== "unicast") route.type = type as CapturedRoute["type"];
  }
  const destination = value("Destination");
  if (destination === undefined) {
    if (!route.via) return refuse("a route with neither Destination= nor Gateway= is not carried");
    return addGateway(parts, route, warn);
  }
  const to = parseCidr(destination, { ipv4: 32, ipv6: 128 });
  if (!to) return refuse(`Destination=${destination} is not an address`);
  const family = familyOf(to.address)!;
  if ((route.via && familyOf(route.via) !== family) || (route.src && familyOf(route.src) !== family)) return refuse("the gateway or source is not of the destination's family");
  route.to = `${to.address}/${to.prefix}`;
  if (to.prefix === 0 && route.via) return addGateway(parts, route, warn);
  parts[family].routes.push(route);
}

/** A default route with nothing but a gateway and a metric is the family's gateway; any other is a route of its own. */
function addGateway(parts: { ipv4: FamilyParts; ipv6: FamilyParts }, route: CapturedRoute, warn: (id: string, message: string) => void): void {
  if (route.via?.startsWith("_")) return void warn("route-not-carried", `Gateway=${route.via} (a gateway from DHCP or router advertisements) is not carried`);
  const family = route.via ? familyOf(route.via) : undefined;
  if (!family) return void warn("route-not-carried", `Gateway=${route.via} is not an address`);
  const { to: _to, via, metric, ...options } = route;
  const plain = Object.keys(options).length === 0;
  if (plain && !parts[family].gateway) parts[family].gateway = { via: via!, ...(metric !== undefined ? { metric } : {}) };
  else parts[family].routes.push({ ...route, to: defaultDestination(family) });
}

function dhcpFamilies(text: string | undefined, warn: (id: string, message: string) => void): { ipv4: boolean; ipv6: boolean } {
  if (text === undefined) return { ipv4: false, ipv6: false };
  const value = text.toLowerCase();
  const bool = systemdBoolean(value);
  if (bool !== undefined || value === "both" || value === "none") return { ipv4: bool ?? value === "both", ipv6: bool ?? value === "both" };
  if (value === "ipv4" || value === "v4") return { ipv4: true, ipv6: false };
  if (value === "ipv6" || value === "v6") return { ipv4: false, ipv6: true };
  warn("malformed-value", `DHCP=${text} is not understood; no DHCP is carried`);
  return { ipv4: false, ipv6: false };
}

/**
 * DHCP=ipv6 solicits addresses whether or not a router asks only with [DHCPv6] WithoutRA=solicit. Else,
 * while router advertisements are accepted, the client starts when one sets the managed or other flag
 * (systemd.network(5), WithoutRA=), as it does without DHCP= at all: that is what `autoconf` means, as
 * NetworkManager's method=auto. Without router advertisements it is carried as asked.
 */
function solicitsDhcpv6(sections: IniSection[], autoconf: boolean, warn: (id: string, message: string) => void): boolean {
  const withoutRa = iniValue(sections, "DHCPv6", "WithoutRA")?.toLowerCase();
  if (withoutRa === "solicit") return true;
  if (withoutRa === "information-request") warn("dhcpv6-stateless", "[DHCPv6] WithoutRA=information-request asks stateless DHCPv6 for name servers and other options; it is not carried");
  else if (withoutRa !== undefined && withoutRa !== "no") warn("malformed-value", `[DHCPv6] WithoutRA=${withoutRa} is not understood`);
  return !autoconf;
}

function linkLocalOf(text: string | undefined, warn: (id: string, message: string) => void): { ipv6: boolean } {
  const value = text === undefined ? "ipv6" : systemdBoolean(text) === true ? "yes" : systemdBoolean(text) === false ? "no" : text;
  if (!["yes", "no", "ipv4", "ipv6", "fallback", "ipv4-fallback"].includes(value)) {
    warn("malformed-value", `LinkLocalAddressing=${text} is not understood; IPv6 link-local (the default) is assumed`);
    return { ipv6: true };
  }
  if (value !== "ipv6" && value !== "no") warn("ipv4ll-not-carried", `LinkLocalAddressing=${text}: IPv4 link-local addresses (169.254.0.0/16) are not carried`);
  return { ipv6: value === "yes" || value === "ipv6" };
}

/** systemd.network(5) IPv6AcceptRA=: by default on, except on bridges and when the system forwards IPv6. */
function raAccepted(sections: IniSection[], isBridge: boolean, context: Context, warn: (id: string, message: string) => void): boolean {
  const text = iniValue(sections, "Network", "IPv6AcceptRA") ?? iniValue(sections, "Network", "IPv6AcceptRouterAdvertisements");
  const explicit = systemdBoolean(text);
  if (text !== undefined && explicit === undefined) warn("malformed-value", `IPv6AcceptRA=${text} is not a boolean; networkd's default is carried`);
  return explicit ?? (!isBridge && !forwardsIpv6(sections, context));
}

function forwardsIpv6(sections: IniSection[], context: Context): boolean {
  const old = iniValue(sections, "Network", "IPForward")?.toLowerCase();
  const own = systemdBoolean(iniValue(sections, "Network", "IPv6Forwarding")) ?? (old === undefined ? undefined : old === "ipv6" || systemdBoolean(old) === true);
  return own ?? context.forwardsIpv6;
}

function reportForwarding(sections: IniSection[], warn: (id: string, message: string) => void): void {
  for (const key of ["IPForward", "IPv4Forwarding", "IPv6Forwarding"]) {
    const text = iniValue(sections, "Network", key);
    if (text !== undefined && systemdBoolean(text) !== false) warn("forwarding-not-carried", `${key}=${text}: forwarding (routing for others) is not carried`);
  }
}

function dhcpv4NeverDefault(sections: IniSection[], dhcp: boolean, warn: (id: string, message: string) => void): { neverDefault?: boolean } {
  const section = sections.some((s) => s.name === "DHCPv4") ? "DHCPv4" : "DHCP";
  const useRoutes = systemdBoolean(iniValue(sections, section, "UseRoutes"));
  const useGateway = systemdBoolean(iniValue(sections, section, "UseGateway")) ?? useRoutes;
  const metric = iniValue(sections, section, "RouteMetric");
  if (!dhcp) return {};
  if (useRoutes === false) warn("dhcp-routes-not-carried", `[${section}] UseRoutes=no: the new system installs the routes the DHCP server sends`);
  if (metric !== undefined && useGateway !== false) warn("dhcp-route-metric-not-carried", `[${section}] RouteMetric=${metric}: the DHCP default route gets the new system's default metric`);
  return useGateway === false ? { neverDefault: true } : {};
}

function raNeverDefault(sections: IniSection[], autoconf: boolean, warn: (id: string, message: string) => void): { neverDefault?: boolean } {
  const useGateway = systemdBoolean(iniValue(sections, "IPv6AcceptRA", "UseGateway"));
  const metric = iniValue(sections, "IPv6AcceptRA", "RouteMetric");
  if (!autoconf) return {};
  if (metric !== undefined && useGateway !== false) warn("ra-route-metric-not-carried", `[IPv6AcceptRA] RouteMetric=${metric}: the router's default route gets the new system's default metric`);
  return useGateway === false ? { neverDefault: true } : {};
}

// ---- VLAN parents, bond primaries, orphans ----

/** A VLAN hangs on the device whose `.network` lists it in VLAN=; networkd creates it only then. */
function vlanParentsOf(chosen: Map<Device, NetworkdFile | undefined>, context: Context): Map<string, string> {
  const parents = new Map<string, string>();
  for (const [device, file] of chosen) {
    for (const vlan of file ? iniValues(file.sections, "Network", "VLAN") : []) {
      const netdev = context.netdevs.get(vlan);
      const parent = device.patternOf ? undefined : device.target.name;
      if (netdev?.kind !== "vlan") context.warnings.push(notCarried("vlan-missing", `${file!.path}: VLAN=${vlan} names no VLAN of a .netdev`, parent));
      else if (!parent) context.warnings.push(notCarried("vlan-parent-unnamed", `${vlan}: its parent (${deviceLabel(device)} in ${file!.path}) has no known name`, vlan));
      else if (parents.has(vlan)) context.warnings.push(notCarried("vlan-parent-ambiguous", `${vlan} is listed by ${parents.get(vlan)} and ${parent}; ${parents.get(vlan)} is carried as its parent`, vlan));
      else parents.set(vlan, parent);
    }
  }
  for (const netdev of context.netdevs.values()) {
    if (netdev.kind === "vlan" && netdev.carried && !parents.has(netdev.name)) {
      context.warnings.push(notCarried("vlan-without-parent", `${netdev.name} from ${netdev.file.path}: no .network lists it in VLAN=, so networkd never creates it`, netdev.name));
    }
  }
  return parents;
}

/** networkd's PrimarySlave=yes sits in the port's .network; the model keeps it on the bond. */
function assignPrimaries(chosen: Map<Device, NetworkdFile | undefined>, interfaces: FoundInterface[], warnings: CarryOverWarning[]): void {
  for (const port of interfaces.filter((i) => i.controller)) {
    const file = [...chosen.values()].find((f) => f?.path === port.source);
    if (!file || !systemdBoolean(iniValue(file.sections, "Network", "PrimarySlave"))) continue;
    const bond = interfaces.find((i) => i.name === port.controller && i.bond);
    if (!bond || !port.name) continue;
    if (bond.bond!.primary) warnings.push(notCarried("bond-primary-ambiguous", `${port.name} in ${file.path} is PrimarySlave= of ${bond.name} too; ${bond.bond!.primary} is carried as primary`, port.name));
    else bond.bond!.primary = port.name;
  }
}

function dropOrphanPorts(interfaces: FoundInterface[], warnings: CarryOverWarning[]): void {
  for (let index = interfaces.length - 1; index >= 0; index--) {
    const port = interfaces[index]!;
    if (port.controller && !interfaces.some((i) => i.name === port.controller && (i.kind === "bond" || i.kind === "bridge"))) {
      warnings.push(notCarried("port-without-controller", `${port.name ?? port.mac} from ${port.source}: ${port.controller} is not carried, nor is this port`, port.name));
      interfaces.splice(index, 1);
    }
  }
}

// ---- DNS ----

function captureDns(file: NetworkdFile, device: Device, findings: NetworkFindings): void {
  const label = deviceLabel(device);
  const warn = (id: string, message: string) => findings.warnings.push(notCarried(id, `${label} in ${file.path}: ${message}`, device.patternOf ? undefined : device.target.name));
  addUnique(findings.dns.servers, listValues(file.sections, "Network", "DNS").flatMap((text) => dnsServer(text, warn) ?? []));
  for (const domain of listValues(file.sections, "Network", "Domains")) {
    if (domain === "~.") continue;
    if (domain.startsWith("~")) warn("routing-domain-not-carried", `Domains=${domain} (queries for ${domain.slice(1)} go to this link's servers only) is not carried`);
    else addUnique(findings.dns.search, [domain]);
  }
}

/** `address[:port][%interface][#server name]`, an IPv6 address with a port in brackets. */
function dnsServer(text: string, warn: (id: string, message: string) => void): string | undefined {
  const withoutName = text.split("#")[0]!;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?(?:%(\S+))?$/.exec(withoutName);
  const plain = /^([^%]+?)(?::(\d+))?(?:%(\S+))?$/.exec(withoutName);
  let [address, port, zone] = bracketed ? bracketed.slice(1) : [withoutName.split("%")[0]!, undefined, withoutName.split("%")[1]];
  if (!bracketed && plain && familyOf(plain[1]!) === "ipv4") [address, port, zone] = plain.slice(1);
  if (!address || !isIp(address)) return void warn("dns-not-carried", `DNS=${text} is not an address`);
  if (port && port !== "53") return void warn("dns-not-carried", `DNS=${text}: a server on port ${port} cannot be carried`);
  if (zone && /^fe80:/i.test(address)) return void warn("dns-not-carried", `DNS=${text}: a link-local server bound to ${zone} cannot be carried`);
  return familyOf(address) === "ipv6" ? address.toLowerCase() : address;
}

// ---- sysctl ----

/** net.ipv6.conf.all.forwarding as systemd-sysctl leaves it (sysctl.d in every directory, then /etc/sysctl.conf). */
function systemForwardsIpv6(root: string): boolean {
  const dirs = ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"];
  const byName = new Map<string, string>();
  for (const dir of dirs) for (const name of listRootDir(root, dir, (n) => n.endsWith(".conf"))) if (!byName.has(name)) byName.set(name, `${dir}/${name}`);
  const paths = [...[...byName].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, path]) => path), "/etc/sysctl.conf"];
  let forwarding = false;
  for (const path of paths) {
    for (const line of (readRootFile(root, path) ?? "").split("\n")) {
      const match = /^\s*-?net[./]ipv6[./]conf[./]all[./]forwarding\s*=\s*(\S+)/.exec(line);
      if (match) forwarding = match[1] !== "0";
    }
  }
  return forwarding;
}
