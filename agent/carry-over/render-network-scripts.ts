import type { CapturedConfig, CapturedInterface } from "./captured-config.ts";
import type { RenderedFile } from "./rendered-file.ts";

const DIR = "/etc/sysconfig/network-scripts";

/** EL7-style ifcfg files; HWADDR binds each to its NIC whatever the new name. */
export function renderNetworkScripts(config: CapturedConfig): RenderedFile[] {
  return config.interfaces.flatMap((item, index) => [
    { path: `${DIR}/ifcfg-${item.oldName}`, content: ifcfg(item, index === 0 ? config : undefined), mode: 0o644 },
    ...(item.routes.length ? [{ path: `${DIR}/route-${item.oldName}`, content: routeFile(item), mode: 0o644 }] : []),
  ]);
}

function ifcfg(item: CapturedInterface, dnsFrom: CapturedConfig | undefined): string {
  const lines = [
    `DEVICE=${item.oldName}`,
    `HWADDR=${item.mac}`,
    "TYPE=Ethernet",
    "ONBOOT=yes",
    `BOOTPROTO=${item.method === "static" ? "none" : "dhcp"}`,
    ...item.addresses.flatMap((a, i) => [`IPADDR${i}=${a.address}`, `PREFIX${i}=${a.prefix}`]),
    ...(item.gateway ? [`GATEWAY=${item.gateway}`] : []),
    ...(item.mtu ? [`MTU=${item.mtu}`] : []),
    ...(dnsFrom?.dns.servers ?? []).map((server, i) => `DNS${i + 1}=${server}`),
    ...(dnsFrom?.dns.search.length ? [`DOMAIN="${dnsFrom.dns.search.join(" ")}"`] : []),
  ];
  return `${lines.join("\n")}\n`;
}

function routeFile(item: CapturedInterface): string {
  return item.routes.map((r) => `${r.to} via ${r.via} dev ${item.oldName}${r.metric !== undefined ? ` metric ${r.metric}` : ""}\n`).join("");
}
