import type { DnsSettings } from "./captured-config.ts";
import type { RenderedFile } from "./rendered-file.ts";

/** A static /etc/resolv.conf, for targets where nothing manages it (ifupdown without resolvconf). */
export function renderResolvConf(dns: DnsSettings): RenderedFile[] {
  if (dns.servers.length === 0 && dns.search.length === 0) return [];
  const lines = [
    "# carried over from the old system by va-agent",
    ...(dns.search.length ? [`search ${dns.search.join(" ")}`] : []),
    ...dns.servers.map((server) => `nameserver ${server}`),
  ];
  return [{ path: "/etc/resolv.conf", content: `${lines.join("\n")}\n`, mode: 0o644 }];
}
