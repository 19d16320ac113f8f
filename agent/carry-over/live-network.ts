import type { Runner } from "../runner/runner.ts";
import type { CapturedAddress } from "./captured-config.ts";
import { normalizeMac } from "./network-findings.ts";

export interface LiveLink {
  name: string;
  mac?: string;
  ipv4: CapturedAddress[];
}

/** The running network as the kernel has it: what the files are cross-checked against. */
export interface LiveNetwork {
  links: LiveLink[];
  defaultGateways: { dev: string; gateway: string }[];
}

interface IpAddrEntry {
  ifname: string;
  address?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface IpRouteEntry {
  dst: string;
  gateway?: string;
  dev?: string;
}

/** `ip -j addr` (names, MACs, addresses) and `ip -j route`; undefined when `ip` cannot tell. */
export async function readLiveNetwork(run: Runner): Promise<LiveNetwork | undefined> {
  const addr = await run.run(["ip", "-j", "addr", "show"], { readOnly: true, allowFailure: true });
  const route = await run.run(["ip", "-j", "-4", "route", "show"], { readOnly: true, allowFailure: true });
  if (addr.status !== 0 || route.status !== 0) return undefined;
  return parseLiveNetwork(addr.stdout, route.stdout);
}

export function parseLiveNetwork(addrJson: string, routeJson: string): LiveNetwork {
  const addrs = JSON.parse(addrJson || "[]") as IpAddrEntry[];
  const routes = JSON.parse(routeJson || "[]") as IpRouteEntry[];
  return {
    links: addrs
      .filter((entry) => entry.ifname !== "lo")
      .map((entry) => ({
        name: entry.ifname,
        mac: normalizeMac(entry.address),
        ipv4: (entry.addr_info ?? []).filter((a) => a.family === "inet").map((a) => ({ address: a.local, prefix: a.prefixlen })),
      })),
    defaultGateways: routes.filter((r) => r.dst === "default" && r.gateway && r.dev).map((r) => ({ dev: r.dev!, gateway: r.gateway! })),
  };
}
