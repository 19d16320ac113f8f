import type { CapturedConfig, CapturedInterface, CapturedIpv4, CapturedIpv6, CapturedRoute } from "./captured-config.ts";
import { canonicalAddress } from "./ip-address.ts";

/** One address family as the boot brings it up: every list sorted, every address in one notation. */
export interface FamilyMeaning {
  dhcp: boolean;
  /** IPv6 only: router advertisements accepted. */
  autoconf?: boolean;
  neverDefault?: boolean;
  addresses: string[];
  /** The default routes it installs, `via GW [metric N]`, whether written as a gateway or as a route to 0/0. */
  defaultRoutes: string[];
  routes: string[];
}

export interface InterfaceMeaning {
  /** What it is bound to, never its name: `mac(…)`, `bond(…)`, `vlan(…)`, `bridge(…)`. */
  binding: string;
  /** The binding of the bond or bridge it is a port of. */
  portOf?: string;
  mtu?: number;
  ipv4?: FamilyMeaning;
  ipv6?: FamilyMeaning;
}

/** What the network means at boot, comparable across sources and renderers (names of NICs and virtual devices do not count). */
export interface NetworkMeaning {
  up: InterfaceMeaning[];
  /** Configured with activation manual: their bindings only. */
  down: string[];
  dns: { servers: string[]; search: string[] };
}

export function networkMeaning(config: Pick<CapturedConfig, "interfaces" | "dns">): NetworkMeaning {
  const binding = bindingsOf(config.interfaces);
  const up = config.interfaces.filter((item) => item.activation === "boot").map((item) => interfaceMeaning(item, binding));
  return {
    up: up.sort((a, b) => compare(a.binding, b.binding)),
    down: config.interfaces.filter((item) => item.activation === "manual").map((item) => binding(item.name)).sort(compare),
    dns: { servers: config.dns.servers.map(canonicalAddress), search: [...config.dns.search] },
  };
}

/** A port does no IP of its own: whatever a source says of its families means nothing. */
function interfaceMeaning(item: CapturedInterface, binding: (name: string) => string): InterfaceMeaning {
  const ipv4 = !item.controller && item.ipv4 ? familyMeaning(item.ipv4, "ipv4") : undefined;
  const ipv6 = !item.controller && item.ipv6 ? familyMeaning(item.ipv6, "ipv6") : undefined;
  return {
    binding: binding(item.name),
    ...(item.controller ? { portOf: binding(item.controller) } : {}),
    ...(item.mtu !== undefined ? { mtu: item.mtu } : {}),
    ...(ipv4 ? { ipv4 } : {}),
    ...(ipv6 ? { ipv6 } : {}),
  };
}

/** Bindings by old name; a virtual device is described by what it binds to, recursively. */
function bindingsOf(interfaces: CapturedInterface[]): (name: string) => string {
  const memo = new Map<string, string>();
  const visiting = new Set<string>();
  const binding = (name: string): string => {
    const known = memo.get(name);
    if (known) return known;
    const item = interfaces.find((i) => i.name === name);
    if (!item || visiting.has(name)) return `missing(${name})`;
    visiting.add(name);
    const ports = () => interfaces.filter((i) => i.controller === name).map((i) => binding(i.name)).sort(compare).join(",");
    const mac = item.kind !== "ethernet" && item.mac ? `;mac=${item.mac}` : "";
    const described =
      item.kind === "ethernet"
        ? `mac(${item.mac})`
        : item.kind === "bond"
          ? `bond(${bondOptions(item, binding)}${mac};ports=[${ports()}])`
          : item.kind === "vlan"
            ? `vlan(${item.vlan?.id} on ${item.vlan ? binding(item.vlan.parent) : "?"}${mac})`
            : `bridge(${bridgeOptions(item)}${mac};ports=[${ports()}])`;
    visiting.delete(name);
    memo.set(name, described);
    return described;
  };
  return binding;
}

/** Kernel defaults are written out or left out alike: options that do nothing in the bond's mode are left out. */
function bondOptions(item: CapturedInterface, binding: (name: string) => string): string {
  const bond = item.bond;
  if (!bond) return "mode=?";
  const hashing = ["balance-xor", "802.3ad", "balance-tlb"].includes(bond.mode);
  const hasPrimary = ["active-backup", "balance-tlb", "balance-alb"].includes(bond.mode);
  const options: [string, unknown][] = [
    ["mode", bond.mode],
    // the bonding driver monitors with miimon=100 when nothing else is set
    ["miimon", bond.miimon ?? 100],
    ["updelay", bond.updelay || undefined],
    ["downdelay", bond.downdelay || undefined],
    ["lacp-rate", bond.mode === "802.3ad" && bond.lacpRate === "fast" ? "fast" : undefined],
    ["xmit-hash-policy", hashing && bond.xmitHashPolicy && bond.xmitHashPolicy !== "layer2" ? bond.xmitHashPolicy : undefined],
    ["primary", hasPrimary && bond.primary ? binding(bond.primary) : undefined],
  ];
  return options.filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${value}`).join(",");
}

/** Without STP a port forwards at once: the forward delay means something only with STP (kernel default 15 s). */
function bridgeOptions(item: CapturedInterface): string {
  return item.bridge?.stp ? `stp=on,forward-delay=${item.bridge.forwardDelay ?? 15}` : "stp=off";
}

/** A family with nothing in it means the same as no family at all. */
function familyMeaning(family: CapturedIpv4 | CapturedIpv6, which: "ipv4" | "ipv6"): FamilyMeaning | undefined {
  const autoconf = "autoconf" in family ? family.autoconf : undefined;
  const isDefault = (route: CapturedRoute) => route.to === (which === "ipv4" ? "0.0.0.0/0" : "::/0") && route.table === undefined && (route.type ?? "unicast") === "unicast" && route.via !== undefined && !route.src && !route.scope && !route.onlink;
  const defaults = [...(family.gateway ? [family.gateway] : []), ...family.routes.filter(isDefault).map((route) => ({ via: route.via!, metric: route.metric }))];
  const meaning: FamilyMeaning = {
    dhcp: family.dhcp,
    ...(autoconf !== undefined ? { autoconf } : {}),
    ...(family.neverDefault && (family.dhcp || autoconf) ? { neverDefault: true } : {}),
    addresses: family.addresses.map((a) => `${canonicalAddress(a.address)}/${a.prefix}`).sort(compare),
    defaultRoutes: [...new Set(defaults.map((gw) => `via ${canonicalAddress(gw.via)}${gw.metric !== undefined ? ` metric ${gw.metric}` : ""}`))].sort(compare),
    routes: [...new Set(family.routes.filter((route) => !isDefault(route)).map(routeMeaning))].sort(compare),
  };
  const empty = !meaning.dhcp && !meaning.autoconf && meaning.addresses.length === 0 && meaning.defaultRoutes.length === 0 && meaning.routes.length === 0;
  return empty ? undefined : meaning;
}

function routeMeaning(route: CapturedRoute): string {
  const [address = "", prefix] = route.to.split("/");
  return [
    ...(route.type && route.type !== "unicast" ? [route.type] : []),
    `${canonicalAddress(address)}/${prefix}`,
    ...(route.via ? ["via", canonicalAddress(route.via)] : []),
    ...(route.metric !== undefined ? ["metric", String(route.metric)] : []),
    ...(route.src ? ["src", canonicalAddress(route.src)] : []),
    ...(route.table !== undefined ? ["table", String(route.table)] : []),
    ...(route.onlink ? ["onlink"] : []),
    ...(route.scope ? ["scope", route.scope] : []),
  ].join(" ");
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
