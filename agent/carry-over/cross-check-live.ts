import type { CapturedAddress, CapturedInterface, CapturedIpv4, CapturedIpv6, CarryOverWarning } from "./captured-config.ts";
import { bindingMac, type LiveLink, type LiveNetwork } from "./live-network.ts";
import { notCarried } from "./network-findings.ts";
import { sameAddress } from "./ip-address.ts";

const VIRTUAL_KINDS = new Set(["bond", "vlan", "bridge"]);
type Family = "ipv4" | "ipv6";

/**
 * The files win over the live state; every difference is reported, naming both. A NIC is found live by
 * its MAC (a bond port by its permanent one), a bond, VLAN or bridge by its name.
 */
export function crossCheckLive(interfaces: CapturedInterface[], live: LiveNetwork): CarryOverWarning[] {
  const warnings: CarryOverWarning[] = [];
  for (const item of interfaces) {
    const link = liveLinkOf(item, live);
    if (!link) {
      if (item.activation === "boot") warnings.push(differs(item, "is configured to come up at boot but is not up now"));
      continue;
    }
    warnings.push(...structureDiffers(item, link, interfaces, live));
    for (const family of ["ipv4", "ipv6"] as const) warnings.push(...familyDiffers(item, link, family, live));
  }
  for (const link of live.links) {
    if (capturedOf(link, interfaces)) continue;
    const addresses = [...link.ipv4, ...link.ipv6];
    if (addresses.length > 0) warnings.push(notCarried("unconfigured-live-address", `${link.name} has ${addresses.map(cidr).join(", ")} live, but no carried configuration describes it`, link.name));
  }
  for (const route of live.defaultRoutes) {
    const link = live.links.find((l) => l.name === route.dev);
    if (!link || !capturedOf(link, interfaces)) {
      warnings.push(notCarried("live-default-route-not-carried", `the live ${route.family} default route${route.gateway ? ` via ${route.gateway}` : ""} is on ${route.dev}, whose configuration is not carried`, route.dev));
    }
  }
  return warnings;
}

/**
 * The old system's interfaces the management traffic depends on: those holding a live default route
 * (IPv4 or IPv6), the one named or addressed by `reachedVia` (where the web UI was reached), and
 * everything they rest on (a VLAN's parent, a bond's or bridge's ports), by their configured names.
 */
export function managementInterfaces(interfaces: CapturedInterface[], live: LiveNetwork | undefined, reachedVia?: string): string[] {
  const links = live?.links ?? [];
  const nameOf = (link: LiveLink) => capturedOf(link, interfaces)?.name ?? link.name;
  const start = [
    ...(live?.defaultRoutes ?? []).map((route) => links.find((l) => l.name === route.dev)).flatMap((link) => (link ? [nameOf(link)] : [])),
    ...(reachedVia ? reachedNames(reachedVia, interfaces, links, nameOf) : []),
  ];
  const result = new Set<string>();
  const pending = [...start];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (result.has(name)) continue;
    result.add(name);
    pending.push(...restsOn(name, interfaces, links, nameOf));
  }
  return [...result].sort();
}

function reachedNames(reachedVia: string, interfaces: CapturedInterface[], links: LiveLink[], nameOf: (link: LiveLink) => string): string[] {
  const byAddress = links.filter((link) => [...link.ipv4, ...link.ipv6].some((a) => sameAddress(a.address, reachedVia))).map(nameOf);
  const configured = interfaces.filter((item) => item.name === reachedVia || [...(item.ipv4?.addresses ?? []), ...(item.ipv6?.addresses ?? [])].some((a) => sameAddress(a.address, reachedVia))).map((item) => item.name);
  const named = links.filter((link) => link.name === reachedVia).map(nameOf);
  return [...byAddress, ...configured, ...named];
}

/** What an interface needs below it, in the files and live: a VLAN's parent, the ports of a bond or bridge. */
function restsOn(name: string, interfaces: CapturedInterface[], links: LiveLink[], nameOf: (link: LiveLink) => string): string[] {
  const item = interfaces.find((i) => i.name === name);
  const link = links.find((l) => nameOf(l) === name);
  const liveParent = link?.vlan ? links.find((l) => l.name === link.vlan!.parent) : undefined;
  return [
    ...(item?.vlan ? [item.vlan.parent] : []),
    ...interfaces.filter((i) => i.controller === name).map((i) => i.name),
    ...(liveParent ? [nameOf(liveParent)] : []),
    ...links.filter((l) => l.controller && link && l.controller === link.name).map(nameOf),
  ];
}

function liveLinkOf(item: CapturedInterface, live: LiveNetwork): LiveLink | undefined {
  if (item.kind !== "ethernet") return live.links.find((link) => link.name === item.name);
  const nics = live.links.filter((link) => !link.kind || !VIRTUAL_KINDS.has(link.kind));
  return nics.find((link) => link.permanentMac === item.mac) ?? nics.find((link) => !link.kind && bindingMac(link) === item.mac);
}

function capturedOf(link: LiveLink, interfaces: CapturedInterface[]): CapturedInterface | undefined {
  if (link.kind && VIRTUAL_KINDS.has(link.kind)) return interfaces.find((item) => item.kind === link.kind && item.name === link.name);
  const mac = bindingMac(link);
  return interfaces.find((item) => item.kind === "ethernet" && item.mac === mac);
}

function structureDiffers(item: CapturedInterface, link: LiveLink, interfaces: CapturedInterface[], live: LiveNetwork): CarryOverWarning[] {
  const warnings: CarryOverWarning[] = [];
  if (item.kind === "ethernet" && link.kind) warnings.push(differs(item, `is a ${link.kind} live (${link.name}), the configuration files make it a NIC`));
  const liveController = link.controller ? live.links.find((l) => l.name === link.controller) : undefined;
  const liveControllerName = liveController ? (capturedOf(liveController, interfaces)?.name ?? liveController.name) : undefined;
  if ((item.controller ?? "") !== (liveControllerName ?? "")) {
    warnings.push(differs(item, `is a port of ${liveControllerName ?? "nothing"} live, of ${item.controller ?? "nothing"} in the configuration files`));
  }
  if (item.vlan && link.vlan) {
    const parent = interfaces.find((i) => i.name === item.vlan!.parent);
    const parentLive = parent ? liveLinkOf(parent, live)?.name : undefined;
    if (link.vlan.id !== item.vlan.id || (parentLive && parentLive !== link.vlan.parent)) {
      warnings.push(differs(item, `is VLAN ${link.vlan.id} on ${link.vlan.parent} live, VLAN ${item.vlan.id} on ${item.vlan.parent} in the configuration files`));
    }
  }
  return warnings;
}

/** Static-only families must match exactly; with DHCP or router advertisements the static part must be there. */
function familyDiffers(item: CapturedInterface, link: LiveLink, family: Family, live: LiveNetwork): CarryOverWarning[] {
  const config: CapturedIpv4 | CapturedIpv6 | undefined = item[family];
  const dynamic = Boolean(config?.dhcp || (config && "autoconf" in config && config.autoconf));
  const fromFiles = (config?.addresses ?? []).map(cidr).sort();
  const fromLive = (family === "ipv4" ? link.ipv4 : link.ipv6).map(cidr).sort();
  const warnings: CarryOverWarning[] = [];
  const missing = fromFiles.filter((a) => !fromLive.includes(a));
  const extra = dynamic ? [] : fromLive.filter((a) => !fromFiles.includes(a));
  if (missing.length > 0 || extra.length > 0) {
    warnings.push(differs(item, `live ${family} addresses [${fromLive.join(", ")}] differ from the configuration files [${fromFiles.join(", ")}]${dynamic ? " (DHCP/autoconf adds to them)" : ""}`));
  }
  const liveGateway = live.defaultRoutes.find((route) => route.family === family && route.dev === link.name)?.gateway;
  const fileGateway = config?.gateway?.via ?? config?.routes.find((route) => route.to === (family === "ipv4" ? "0.0.0.0/0" : "::/0") && route.table === undefined)?.via;
  if (liveGateway && fileGateway ? liveGateway !== fileGateway : Boolean(liveGateway ? !dynamic : fileGateway)) {
    warnings.push(differs(item, `live ${family} default gateway ${liveGateway ?? "none"} differs from the configuration files (${fileGateway ?? "none"})`));
  }
  return warnings;
}

function differs(item: CapturedInterface, what: string): CarryOverWarning {
  return { id: "live-differs", message: `${item.name}${item.mac ? ` (${item.mac})` : ""} ${what}; the files are carried`, interface: item.name };
}

function cidr(address: CapturedAddress): string {
  return `${address.address}/${address.prefix}`;
}
