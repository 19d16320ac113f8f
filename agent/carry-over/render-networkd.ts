import type { CapturedConfig, CapturedInterface, DnsSettings } from "./captured-config.ts";
import { dnsCarrier } from "./dns-carrier.ts";
import type { RenderedFile } from "./rendered-file.ts";

/** One .network file per interface, matched by MAC. */
export function renderNetworkd(config: CapturedConfig): RenderedFile[] {
  const carrier = dnsCarrier(config.interfaces);
  return config.interfaces.map((item) => ({
    path: `/etc/systemd/network/10-va-${item.oldName}.network`,
    content: networkFile(item, item === carrier ? config.dns : undefined),
    mode: 0o644,
  }));
}

function networkFile(item: CapturedInterface, dns: DnsSettings | undefined): string {
  const sections = [
    ["[Match]", `MACAddress=${item.mac}`],
    ...(item.mtu ? [["[Link]", `MTUBytes=${item.mtu}`]] : []),
    [
      "[Network]",
      ...(item.method === "dhcp" ? ["DHCP=ipv4"] : []),
      ...item.addresses.map((a) => `Address=${a.address}/${a.prefix}`),
      ...(item.gateway ? [`Gateway=${item.gateway}`] : []),
      ...(dns?.servers ?? []).map((server) => `DNS=${server}`),
      ...(dns?.search.length ? [`Domains=${dns.search.join(" ")}`] : []),
    ],
    ...item.routes.map((r) => ["[Route]", `Destination=${r.to}`, `Gateway=${r.via}`, ...(r.metric !== undefined ? [`Metric=${r.metric}`] : [])]),
  ];
  return `${sections.map((lines) => lines.join("\n")).join("\n\n")}\n`;
}
