import type { CarryOverWarning, DnsSettings } from "./captured-config.ts";
import { isIpv4 } from "./ip-address.ts";
import { notCarried } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";

/** Stub resolvers (systemd-resolved, dnsmasq) that mean nothing on another system. */
const LOCAL_STUBS = new Set(["127.0.0.53", "127.0.0.54", "127.0.0.1"]);

/** /etc/resolv.conf: the DNS fallback when no network configuration names servers. */
export function captureResolvConf(root: string): { dns: DnsSettings; warnings: CarryOverWarning[] } {
  const dns: DnsSettings = { servers: [], search: [] };
  const warnings: CarryOverWarning[] = [];
  for (const rawLine of (readRootFile(root, "/etc/resolv.conf") ?? "").split("\n")) {
    const [keyword, ...values] = rawLine.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (keyword === "nameserver" && values[0]) {
      const server = values[0];
      if (LOCAL_STUBS.has(server)) warnings.push(notCarried("dns-local-stub", `nameserver ${server} in /etc/resolv.conf is a local stub resolver`));
      else if (!isIpv4(server)) warnings.push(notCarried("ipv6-not-carried", `IPv6 nameserver ${server} in /etc/resolv.conf`));
      else if (!dns.servers.includes(server)) dns.servers.push(server);
    }
    // the last search or domain line wins, as in the resolver
    if (keyword === "search" || keyword === "domain") dns.search = values.filter(Boolean);
  }
  return { dns, warnings };
}
