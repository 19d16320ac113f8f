import type { CapturedInterface, CarryOverWarning } from "./captured-config.ts";
import type { LiveNetwork } from "./live-network.ts";
import { notCarried } from "./network-findings.ts";

/** The files win over the live state; every difference is reported, naming both. */
export function crossCheckLive(interfaces: CapturedInterface[], live: LiveNetwork): CarryOverWarning[] {
  const warnings: CarryOverWarning[] = [];
  for (const item of interfaces) {
    const link = live.links.find((l) => l.mac === item.mac);
    if (!link || item.method !== "static") continue;
    const fromFiles = item.addresses.map(cidr).sort().join(", ");
    const fromLive = link.ipv4.map(cidr).sort().join(", ");
    if (fromLive !== fromFiles) {
      warnings.push({ id: "live-differs", message: `${item.oldName} (${item.mac}): live addresses [${fromLive}] differ from the configuration files [${fromFiles}]; the files are carried` });
    }
    const liveGateway = live.defaultGateways.find((route) => route.dev === link.name)?.gateway;
    if (liveGateway && liveGateway !== item.gateway) {
      warnings.push({ id: "live-differs", message: `${item.oldName} (${item.mac}): live default gateway ${liveGateway} differs from the configuration files (${item.gateway ?? "none"}); the files are carried` });
    }
  }
  const configured = new Set(interfaces.map((item) => item.mac));
  for (const link of live.links) {
    if (link.ipv4.length > 0 && !configured.has(link.mac ?? "")) {
      warnings.push(notCarried("unconfigured-live-address", `${link.name} has ${link.ipv4.map(cidr).join(", ")} live, but no configuration file describes it`));
    }
  }
  return warnings;
}

function cidr(address: { address: string; prefix: number }): string {
  return `${address.address}/${address.prefix}`;
}

/**
 * The old interfaces the box is managed over: those holding a live default route, and the one with
 * the address the operator reached it on (`stage --reached-via`), live or in the files. A live name
 * the files do not use is matched to its captured interface by MAC.
 */
export function managementInterfaces(interfaces: CapturedInterface[], live: LiveNetwork | undefined, reachedVia?: string): string[] {
  const capturedName = (dev: string) => {
    if (interfaces.some((item) => item.name === dev)) return dev;
    const mac = live?.links.find((link) => link.name === dev)?.mac;
    return interfaces.find((item) => item.kind === "ethernet" && mac !== undefined && item.mac === mac)?.name ?? dev;
  };
  const names = new Set((live?.defaultGateways ?? []).map((route) => capturedName(route.dev)));
  if (reachedVia) {
    const address = reachedVia.toLowerCase();
    for (const link of live?.links ?? []) if (link.ipv4.some((a) => a.address.toLowerCase() === address)) names.add(capturedName(link.name));
    for (const item of interfaces) {
      if ([...(item.ipv4?.addresses ?? []), ...(item.ipv6?.addresses ?? [])].some((a) => a.address.toLowerCase() === address)) names.add(item.name);
    }
  }
  return [...names].sort();
}
