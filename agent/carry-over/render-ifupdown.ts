import type { CapturedConfig, CapturedInterface, DnsSettings } from "./captured-config.ts";
import { dnsCarrier } from "./dns-carrier.ts";
import type { RenderedFile } from "./rendered-file.ts";

export const IFUPDOWN_CARRIED_FILE = "/etc/network/interfaces.d/va-carried";

/**
 * ifupdown configures interfaces by name, so each NIC first gets its old name back:
 * a systemd .link file matched by MAC, applied by udev before ifupdown runs.
 */
export function renderIfupdown(config: CapturedConfig): RenderedFile[] {
  const carrier = dnsCarrier(config.interfaces);
  const links = config.interfaces.map((item) => ({
    path: `/etc/systemd/network/10-va-${item.oldName}.link`,
    content: `[Match]\nMACAddress=${item.mac}\n\n[Link]\nName=${item.oldName}\n`,
    mode: 0o644,
  }));
  if (config.interfaces.length === 0) return links;
  const stanzas = config.interfaces.map((item) => stanza(item, item === carrier ? config.dns : undefined));
  const content = ["# carried over from the old system by va-agent", "", ...stanzas].join("\n");
  return [...links, { path: IFUPDOWN_CARRIED_FILE, content, mode: 0o644 }];
}

function stanza(item: CapturedInterface, dns: DnsSettings | undefined): string {
  const [first, ...more] = item.addresses;
  const options = [
    ...(first ? [`address ${first.address}/${first.prefix}`] : []),
    ...(item.gateway ? [`gateway ${item.gateway}`] : []),
    ...(item.mtu ? [`mtu ${item.mtu}`] : []),
    ...(dns?.servers.length ? [`dns-nameservers ${dns.servers.join(" ")}`] : []),
    ...(dns?.search.length ? [`dns-search ${dns.search.join(" ")}`] : []),
    ...more.map((a) => `up ip address add ${a.address}/${a.prefix} dev ${item.oldName}`),
    ...item.routes.map((r) => `up ip route add ${r.to} via ${r.via}${r.metric !== undefined ? ` metric ${r.metric}` : ""}`),
  ];
  const method = item.method === "static" ? "static" : "dhcp";
  return [`auto ${item.oldName}`, `iface ${item.oldName} inet ${method}`, ...options.map((o) => `    ${o}`), ""].join("\n");
}

/** Debian's default interfaces file sources interfaces.d; an older or edited one may not. */
export function withInterfacesDirSourced(interfacesText: string): string {
  if (/^\s*source(-directory)?\s+\/etc\/network\/interfaces\.d/m.test(interfacesText)) return interfacesText;
  const text = interfacesText === "" || interfacesText.endsWith("\n") ? interfacesText : `${interfacesText}\n`;
  return `${text}source ${IFUPDOWN_CARRIED_FILE}\n`;
}
