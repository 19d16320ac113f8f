import { lstatSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import type { CarryOverWarning, DnsSettings } from "./captured-config.ts";
import { isIp, isIpv6 } from "./ip-address.ts";
import { notCarried } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";

const RESOLV_CONF = "/etc/resolv.conf";
/** Local stub resolvers (systemd-resolved, dnsmasq, NetworkManager's dnsmasq): they mean nothing on another system. */
const LOCAL_STUBS = new Set(["127.0.0.53", "127.0.0.54", "127.0.0.1", "127.0.1.1", "::1"]);
/** Where a stub's upstream servers are written: systemd-resolved's list, NetworkManager's list behind its dnsmasq. */
const UPSTREAM_LISTS = ["/run/systemd/resolve/resolv.conf", "/run/NetworkManager/no-stub-resolv.conf"];

interface ResolvConf {
  path: string;
  servers: string[];
  stubs: string[];
  search: string[];
  options: string[];
}

/**
 * The DNS the old system used. /etc/resolv.conf is what its resolver actually read, so it wins over
 * the interface files when they differ (said so, naming both); a local stub is replaced by the upstream
 * servers it forwarded to (/run/… lists, absent when the root is not running: then the files' servers).
 */
export function effectiveDns(root: string, fromFiles: DnsSettings): { dns: DnsSettings; warnings: CarryOverWarning[] } {
  const warnings: CarryOverWarning[] = [];
  const resolvConf = readResolvConf(root, RESOLV_CONF, warnings);
  if (!resolvConf) return { dns: fromFiles, warnings };
  const used = resolvConf.stubs.length > 0 && resolvConf.servers.length === 0 ? upstreamOfStub(root, resolvConf, fromFiles, warnings) : resolvConf;
  if (resolvConf.options.length > 0 && used === resolvConf) {
    warnings.push(notCarried("dns-options-not-carried", `resolver options in ${RESOLV_CONF}: ${resolvConf.options.join(" ")}`));
  }
  return {
    dns: { servers: winner("name servers", used.path, used.servers, fromFiles.servers, warnings), search: winner("search domains", used.path, used.search, fromFiles.search, warnings) },
    warnings,
  };
}

function upstreamOfStub(root: string, stub: ResolvConf, fromFiles: DnsSettings, warnings: CarryOverWarning[]): ResolvConf {
  for (const path of UPSTREAM_LISTS) {
    const upstream = readResolvConf(root, path, warnings);
    if (upstream && upstream.servers.length > 0) return { ...upstream, search: upstream.search.length > 0 ? upstream.search : stub.search };
  }
  const carried = fromFiles.servers.length > 0 ? `the interface files' servers (${fromFiles.servers.join(", ")}) are carried` : "no name server is carried";
  warnings.push(notCarried("dns-local-stub", `nameserver ${stub.stubs.join(", ")} in ${stub.path} is a local stub resolver and its upstream list (${UPSTREAM_LISTS.join(", ")}) is absent; ${carried}`));
  return { ...stub, servers: [] };
}

/** resolv.conf's list when it has one, else the files'; a difference is reported, naming both. */
function winner(what: string, path: string, used: string[], fromFiles: string[], warnings: CarryOverWarning[]): string[] {
  if (used.length === 0) return fromFiles;
  if (fromFiles.length > 0 && !sameSet(used, fromFiles)) {
    warnings.push({ id: "dns-differs", message: `${what}: ${path} has ${used.join(" ")}, the interface files name ${fromFiles.join(" ")}; ${path}'s are carried (the resolver used them)` });
  }
  return used;
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((value) => b.includes(value));
}

function readResolvConf(root: string, path: string, warnings: CarryOverWarning[]): ResolvConf | undefined {
  const text = readRootFile(root, insideRoot(root, path));
  if (text === undefined) return undefined;
  const conf: ResolvConf = { path, servers: [], stubs: [], search: [], options: [] };
  for (const rawLine of text.split("\n")) {
    const [keyword, ...values] = rawLine.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (keyword === "nameserver" && values[0]) addServer(conf, values[0].toLowerCase(), warnings);
    // the last search or domain line wins, as in the resolver
    if (keyword === "search" || keyword === "domain") conf.search = values.filter(Boolean);
    if (keyword === "options") conf.options.push(...values.filter((option) => option && !STUB_OPTIONS.has(option)));
  }
  return conf;
}

/** Options systemd-resolved writes into its own stub file: they concern the stub, not the network. */
const STUB_OPTIONS = new Set(["edns0", "trust-ad"]);

function addServer(conf: ResolvConf, server: string, warnings: CarryOverWarning[]): void {
  if (LOCAL_STUBS.has(server)) conf.stubs.push(server);
  else if (server.includes("%") || (isIpv6(server) && server.startsWith("fe80:"))) {
    warnings.push(notCarried("dns-link-local", `nameserver ${server} in ${conf.path} is link-local: it names an interface of the old system`));
  } else if (!isIp(server)) warnings.push(notCarried("dns-not-an-address", `nameserver ${server} in ${conf.path}`));
  else if (!conf.servers.includes(server)) conf.servers.push(server);
}

/**
 * /etc/resolv.conf is usually a symlink (../run/systemd/resolve/stub-resolv.conf); an absolute one
 * must resolve inside `root`, not on the machine running the capture.
 */
function insideRoot(root: string, path: string): string {
  let current = path;
  for (let hops = 0; hops < 8; hops++) {
    let target: string;
    try {
      if (!lstatSync(join(root, current)).isSymbolicLink()) return current;
      target = readlinkSync(join(root, current));
    } catch {
      return current;
    }
    current = posix.resolve(posix.dirname(current), target);
  }
  return current;
}
