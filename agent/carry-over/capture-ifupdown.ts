import { posix } from "node:path";
import { parseIpRouteArgs } from "./capture-ifcfg.ts";
import type { CapturedRoute } from "./captured-config.ts";
import { isIpv4, parseCidr, prefixFromNetmask } from "./ip-address.ts";
import { addUnique, emptyFindings, type FoundInterface, type NetworkFindings, notCarried } from "./network-findings.ts";
import { listRootDir, readRootFile } from "./root-files.ts";

const INTERFACES = "/etc/network/interfaces";

interface Stanza {
  name: string;
  family: string;
  method: string;
  options: [key: string, value: string][];
  source: string;
}

/** Debian ifupdown: /etc/network/interfaces and the files its source/source-directory lines name. */
export function captureIfupdown(root: string): NetworkFindings {
  const findings = emptyFindings();
  const stanzas = readStanzas(root, INTERFACES, new Set());
  const byName = new Map<string, FoundInterface>();
  for (const stanza of stanzas) {
    if (stanza.name === "lo" || stanza.method === "loopback") continue;
    const unsupported = unsupportedKind(stanza);
    if (unsupported) {
      findings.warnings.push(notCarried(`${unsupported.id}-not-carried`, `${stanza.name} from ${stanza.source} is ${unsupported.what}; configure it on the new system by hand`));
      continue;
    }
    if (stanza.family !== "inet") {
      if (stanza.family === "inet6" && stanza.method !== "auto") findings.warnings.push(notCarried("ipv6-not-carried", `IPv6 (${stanza.method}) of ${stanza.name} in ${stanza.source}`));
      continue;
    }
    mergeStanza(byName, stanza, findings);
    addUnique(findings.dns.servers, optionWords(stanza, "dns-nameservers").filter(isIpv4));
    addUnique(findings.dns.search, [...optionWords(stanza, "dns-search"), ...optionWords(stanza, "dns-domain")]);
  }
  findings.interfaces.push(...byName.values());
  return findings;
}

function unsupportedKind(stanza: Stanza): { id: string; what: string } | undefined {
  const keys = stanza.options.map(([key]) => key.replaceAll("_", "-"));
  if (keys.some((k) => k.startsWith("bond-"))) return { id: "bond", what: "a bond or bond member" };
  if (keys.includes("vlan-raw-device") || /^(.+)\.\d+$/.test(stanza.name)) return { id: "vlan", what: "a VLAN" };
  if (keys.some((k) => k.startsWith("bridge-"))) return { id: "bridge", what: "a bridge" };
  return undefined;
}

/** A second `iface X inet static` stanza for the same interface adds addresses (ifupdown's way). */
function mergeStanza(byName: Map<string, FoundInterface>, stanza: Stanza, findings: NetworkFindings): void {
  if (stanza.method !== "static" && stanza.method !== "dhcp") {
    findings.warnings.push(notCarried("no-address", `${stanza.name} from ${stanza.source} is 'inet ${stanza.method}'`));
    return;
  }
  const found = interfaceFrom(stanza);
  const earlier = byName.get(stanza.name);
  if (!earlier) byName.set(stanza.name, found);
  else {
    earlier.addresses.push(...found.addresses);
    earlier.routes.push(...found.routes);
    earlier.gateway ??= found.gateway;
    earlier.mtu ??= found.mtu;
  }
}

function interfaceFrom(stanza: Stanza): FoundInterface {
  const netmask = option(stanza, "netmask");
  const address = option(stanza, "address");
  const parsed = address ? parseCidr(address, netmask ? (prefixFromNetmask(netmask) ?? Number(netmask)) : 32) : undefined;
  const extra = upCommands(stanza).flatMap((words) => (words[0] === "ip" && /^addr/.test(words[1] ?? "") && words[2] === "add" ? (parseCidr(words[3] ?? "", 32) ?? []) : []));
  const gateway = option(stanza, "gateway");
  const mtu = Number(option(stanza, "mtu"));
  return {
    name: stanza.name,
    method: stanza.method === "dhcp" ? "dhcp" : "static",
    addresses: stanza.method === "static" ? [...(parsed ? [parsed] : []), ...extra] : [],
    gateway: gateway && isIpv4(gateway) ? gateway : undefined,
    routes: routeHooks(stanza),
    mtu: Number.isInteger(mtu) && mtu > 0 ? mtu : undefined,
    source: stanza.source,
  };
}

/** `up ip route add …` and `up route add -net … netmask … gw …` hooks; extra addresses come from `up ip addr add`. */
function routeHooks(stanza: Stanza): CapturedRoute[] {
  return upCommands(stanza).flatMap((words) => {
    if (words[0] === "ip" && words[1] === "route" && words[2] === "add") return parseIpRouteArgs(words.slice(3)) ?? [];
    if (words[0] === "route" && words[1] === "add") return netToolsRoute(words.slice(2)) ?? [];
    return [];
  });
}

function upCommands(stanza: Stanza): string[][] {
  return stanza.options.filter(([key]) => key === "up" || key === "post-up").map(([, command]) => command.trim().split(/\s+/));
}

function netToolsRoute(words: string[]): CapturedRoute | undefined {
  const value = (flag: string) => (words.includes(flag) ? words[words.indexOf(flag) + 1] : undefined);
  const net = value("-net") ?? value("-host");
  const to = net ? parseCidr(net, prefixFromNetmask(value("netmask") ?? "255.255.255.255")) : undefined;
  const via = value("gw");
  const metric = value("metric");
  if (!to || !via || !isIpv4(via)) return undefined;
  return { to: `${to.address}/${to.prefix}`, via, ...(metric ? { metric: Number(metric) } : {}) };
}

function option(stanza: Stanza, key: string): string | undefined {
  return stanza.options.find(([k]) => k === key)?.[1];
}

function optionWords(stanza: Stanza, key: string): string[] {
  return stanza.options.filter(([k]) => k === key).flatMap(([, v]) => v.split(/\s+/)).filter(Boolean);
}

function readStanzas(root: string, path: string, visited: Set<string>): Stanza[] {
  if (visited.has(path)) return [];
  visited.add(path);
  const stanzas: Stanza[] = [];
  for (const rawLine of (readRootFile(root, path) ?? "").split("\n")) {
    const line = rawLine.replace(/#.*$/, "").trim();
    const [keyword = "", ...rest] = line.split(/\s+/);
    if (line === "") continue;
    if (keyword === "iface") {
      stanzas.push({ name: rest[0] ?? "", family: rest[1] ?? "", method: rest[2] ?? "", options: [], source: path });
    } else if (keyword === "source") {
      for (const file of expandSource(root, rest.join(" "), path)) stanzas.push(...readStanzas(root, file, visited));
    } else if (keyword === "source-directory") {
      const dir = posix.resolve(posix.dirname(path), rest.join(" "));
      for (const name of listRootDir(root, dir, (n) => /^[a-zA-Z0-9_-]+$/.test(n))) stanzas.push(...readStanzas(root, `${dir}/${name}`, visited));
    } else if (["auto", "allow-hotplug", "mapping"].includes(keyword) || keyword.startsWith("allow-")) {
      continue;
    } else if (stanzas.length > 0) {
      stanzas.at(-1)!.options.push([keyword, rest.join(" ")]);
    }
  }
  return stanzas;
}

/** `source` takes a path or a glob; only a `*` in the last component occurs in practice. */
function expandSource(root: string, pattern: string, from: string): string[] {
  const full = posix.resolve(posix.dirname(from), pattern);
  const dir = posix.dirname(full);
  const base = posix.basename(full);
  if (!base.includes("*")) return [full];
  const regex = new RegExp(`^${base.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return listRootDir(root, dir, (name) => regex.test(name)).map((name) => `${dir}/${name}`);
}
