import type { CapturedAddress, CapturedRoute } from "./captured-config.ts";
import { isIpv4, parseCidr, prefixFromNetmask } from "./ip-address.ts";
import { addUnique, emptyFindings, type FoundInterface, type NetworkFindings, normalizeMac, notCarried } from "./network-findings.ts";
import { listRootDir, readRootFile } from "./root-files.ts";
import { parseShellVariables } from "./shell-variables.ts";

const DIR = "/etc/sysconfig/network-scripts";

/** EL7 network-scripts: ifcfg-IFACE and route-IFACE files. */
export function captureIfcfg(root: string): NetworkFindings {
  const findings = emptyFindings();
  for (const file of listRootDir(root, DIR, (name) => name.startsWith("ifcfg-") && name !== "ifcfg-lo")) {
    const source = `${DIR}/${file}`;
    const vars = parseShellVariables(readRootFile(root, source) ?? "");
    const name = vars.get("DEVICE") ?? file.slice("ifcfg-".length);
    const kind = unsupportedKind(vars);
    if (kind) {
      findings.warnings.push(notCarried(`${kind.id}-not-carried`, `${name} from ${source} is ${kind.what} (${describeKind(vars)}); configure it on the new system by hand`));
      continue;
    }
    if (vars.get("IPV6ADDR") || vars.get("IPV6ADDR_SECONDARIES")) {
      findings.warnings.push(notCarried("ipv6-not-carried", `IPv6 addresses of ${name} in ${source}`));
    }
    const found = interfaceFrom(root, name, vars, source, findings);
    if (found) findings.interfaces.push(found);
    addUnique(findings.dns.servers, [...vars.keys()].filter((k) => /^DNS\d+$/.test(k)).sort().map((k) => vars.get(k)!));
    addUnique(findings.dns.search, (vars.get("DOMAIN") ?? "").split(/\s+/));
  }
  return findings;
}

function unsupportedKind(vars: Map<string, string>): { id: string; what: string } | undefined {
  const type = (vars.get("TYPE") ?? "").toLowerCase();
  if (type === "bond" || type === "bonding" || vars.get("BONDING_OPTS")) return { id: "bond", what: "a bond" };
  if (vars.get("MASTER") || vars.get("SLAVE") === "yes") return { id: "bond", what: "a bond member" };
  if (type === "vlan" || vars.get("VLAN") === "yes") return { id: "vlan", what: "a VLAN" };
  if (type === "bridge") return { id: "bridge", what: "a bridge" };
  if (vars.get("BRIDGE")) return { id: "bridge", what: "a bridge member" };
  if (type && type !== "ethernet") return { id: "interface-type", what: `of type ${vars.get("TYPE")}` };
  return undefined;
}

function describeKind(vars: Map<string, string>): string {
  return ["TYPE", "MASTER", "SLAVE", "VLAN", "BRIDGE"].filter((k) => vars.get(k)).map((k) => `${k}=${vars.get(k)}`).join(" ") || "BONDING_OPTS set";
}

function interfaceFrom(root: string, name: string, vars: Map<string, string>, source: string, findings: NetworkFindings): FoundInterface | undefined {
  const bootproto = (vars.get("BOOTPROTO") ?? "none").toLowerCase();
  const method = bootproto === "dhcp" || bootproto === "bootp" ? "dhcp" : "static";
  const addresses = method === "static" ? addressesOf(vars) : [];
  if (method === "static" && addresses.length === 0) {
    findings.warnings.push(notCarried("no-address", `${name} from ${source} has no IPv4 address (BOOTPROTO=${bootproto})`));
    return undefined;
  }
  const gateway = vars.get("GATEWAY") ?? vars.get("GATEWAY0");
  const mtu = Number(vars.get("MTU"));
  return {
    name,
    mac: normalizeMac(vars.get("HWADDR") ?? vars.get("MACADDR")),
    method,
    addresses,
    gateway: gateway && isIpv4(gateway) ? gateway : undefined,
    routes: routesOf(readRootFile(root, `${DIR}/route-${name}`) ?? ""),
    mtu: Number.isInteger(mtu) && mtu > 0 ? mtu : undefined,
    source,
  };
}

/** IPADDR/PREFIX/NETMASK, then IPADDR0.., IPADDR1.. with their own PREFIXn/NETMASKn. */
function addressesOf(vars: Map<string, string>): CapturedAddress[] {
  const suffixes = ["", ...Array.from({ length: 256 }, (_, i) => String(i))];
  return suffixes.flatMap((n) => {
    const address = vars.get(`IPADDR${n}`);
    if (!address) return [];
    const netmask = vars.get(`NETMASK${n}`);
    const prefix = vars.has(`PREFIX${n}`) ? Number(vars.get(`PREFIX${n}`)) : netmask ? prefixFromNetmask(netmask) : 24;
    const parsed = parseCidr(address, prefix);
    return parsed ? [parsed] : [];
  });
}

/** Both route-IFACE formats: `ip route` lines, or ADDRESSn/NETMASKn/GATEWAYn/METRICn. */
export function routesOf(text: string): CapturedRoute[] {
  const vars = parseShellVariables(text);
  if ([...vars.keys()].some((k) => /^ADDRESS\d+$/.test(k))) {
    return Array.from({ length: 256 }, (_, n) => n).flatMap((n) => {
      const to = parseCidr(vars.get(`ADDRESS${n}`) ?? "", prefixFromNetmask(vars.get(`NETMASK${n}`) ?? "255.255.255.255"));
      const via = vars.get(`GATEWAY${n}`);
      if (!to || !via) return [];
      const metric = vars.get(`METRIC${n}`);
      return [{ to: `${to.address}/${to.prefix}`, via, ...(metric ? { metric: Number(metric) } : {}) }];
    });
  }
  return text.split("\n").flatMap((line) => {
    const route = parseIpRouteArgs(line.trim().split(/\s+/));
    return route ? [route] : [];
  });
}

/** `10.0.0.0/8 via 192.168.1.254 [dev eth0] [metric 100]`: the arguments of `ip route add`. */
export function parseIpRouteArgs(words: string[]): CapturedRoute | undefined {
  const to = parseCidr(words[0] === "default" ? "" : (words[0] ?? ""), 32);
  const via = words[words.indexOf("via") + 1];
  if (!to || !words.includes("via") || !via || !isIpv4(via)) return undefined;
  const metricIndex = words.findIndex((w) => w === "metric" || w === "preference");
  const metric = metricIndex === -1 ? undefined : Number(words[metricIndex + 1]);
  return { to: `${to.address}/${to.prefix}`, via, ...(metric !== undefined && Number.isInteger(metric) ? { metric } : {}) };
}
