import type { Runner } from "../runner/runner.ts";
import type { CapturedAddress } from "./captured-config.ts";
import { normalizeMac } from "./network-findings.ts";

export interface LiveLink {
  name: string;
  /** The MAC the link has now: a bond's ports all show the bond's. */
  mac?: string;
  /** A bond port's own MAC (`perm_hwaddr`): what binds the NIC. */
  permanentMac?: string;
  /** `linkinfo.info_kind` (bond, vlan, bridge, veth, …); absent for a physical NIC. */
  kind?: string;
  /** The bond or bridge it is a port of. */
  controller?: string;
  vlan?: { id: number; parent: string };
  ipv4: CapturedAddress[];
  /** Global scope only: link-local addresses exist on every IPv6 link and mean nothing. */
  ipv6: CapturedAddress[];
}

export interface LiveDefaultRoute {
  family: "ipv4" | "ipv6";
  dev: string;
  gateway?: string;
  metric?: number;
}

/** The running network as the kernel has it: what the files are cross-checked against. */
export interface LiveNetwork {
  links: LiveLink[];
  defaultRoutes: LiveDefaultRoute[];
}

interface IpAddrEntry {
  ifname: string;
  address?: string;
  permaddr?: string;
  master?: string;
  link?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number };
    info_slave_data?: { perm_hwaddr?: string };
  };
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}
interface IpRouteEntry {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
}

/** `ip -j -d addr` (names, MACs, kinds, addresses), `ip -j -4 route` and `ip -j -6 route`; undefined when `ip` cannot tell (no JSON before iproute2 4.14). */
export async function readLiveNetwork(run: Runner): Promise<LiveNetwork | undefined> {
  const addr = await run.run(["ip", "-j", "-d", "addr", "show"], { readOnly: true, allowFailure: true });
  const route4 = await run.run(["ip", "-j", "-4", "route", "show"], { readOnly: true, allowFailure: true });
  const route6 = await run.run(["ip", "-j", "-6", "route", "show"], { readOnly: true, allowFailure: true });
  if (addr.status !== 0 || route4.status !== 0) return undefined;
  try {
    // a kernel without IPv6 fails `ip -6 route`: no IPv6 routes
    return parseLiveNetwork(addr.stdout, route4.stdout, route6.status === 0 ? route6.stdout : "[]");
  } catch {
    return undefined;
  }
}

export function parseLiveNetwork(addrJson: string, route4Json: string, route6Json = "[]"): LiveNetwork {
  const addrs = JSON.parse(addrJson || "[]") as IpAddrEntry[];
  return {
    links: addrs.filter((entry) => entry.ifname !== "lo").map(liveLink),
    defaultRoutes: [...defaultRoutes(route4Json, "ipv4"), ...defaultRoutes(route6Json, "ipv6")],
  };
}

function liveLink(entry: IpAddrEntry): LiveLink {
  const kind = entry.linkinfo?.info_kind;
  const permanentMac = normalizeMac(entry.linkinfo?.info_slave_data?.perm_hwaddr ?? entry.permaddr);
  const vlanId = entry.linkinfo?.info_data?.id;
  const addresses = (family: string) =>
    (entry.addr_info ?? []).filter((a) => a.family === family && (a.scope ?? "global") === "global").map((a) => ({ address: a.local, prefix: a.prefixlen }));
  return {
    name: entry.ifname,
    mac: normalizeMac(entry.address),
    ...(permanentMac ? { permanentMac } : {}),
    ...(kind ? { kind } : {}),
    ...(entry.master ? { controller: entry.master } : {}),
    ...(kind === "vlan" && vlanId !== undefined && entry.link ? { vlan: { id: vlanId, parent: entry.link } } : {}),
    ipv4: addresses("inet"),
    ipv6: addresses("inet6"),
  };
}

function defaultRoutes(json: string, family: "ipv4" | "ipv6"): LiveDefaultRoute[] {
  const routes = JSON.parse(json || "[]") as IpRouteEntry[];
  return routes
    .filter((route) => route.dst === "default" && route.dev)
    .map((route) => ({ family, dev: route.dev!, ...(route.gateway ? { gateway: route.gateway } : {}), ...(route.metric !== undefined ? { metric: route.metric } : {}) }));
}

/** What binds a live NIC to its configuration: its own MAC, not the one a bond lent it. */
export function bindingMac(link: LiveLink): string | undefined {
  return link.permanentMac ?? link.mac;
}
