import { createHash } from "node:crypto";
import type { CapturedConfig, CapturedInterface, DnsSettings } from "./captured-config.ts";
import { dnsCarrier } from "./dns-carrier.ts";
import type { RenderedFile } from "./rendered-file.ts";

const DIR = "/etc/NetworkManager/system-connections";

/** One keyfile per interface, bound by MAC: the new OS's name for the NIC does not matter. */
export function renderNetworkManager(config: CapturedConfig): RenderedFile[] {
  const carrier = dnsCarrier(config.interfaces);
  return config.interfaces.map((item) => ({
    path: `${DIR}/va-${item.oldName}.nmconnection`,
    content: keyfile(item, item === carrier ? config.dns : undefined),
    mode: 0o600,
  }));
}

function keyfile(item: CapturedInterface, dns: DnsSettings | undefined): string {
  const lines = [
    "[connection]",
    `id=va-${item.oldName}`,
    `uuid=${uuidFor(item.mac)}`,
    "type=ethernet",
    "autoconnect=true",
    "",
    "[ethernet]",
    `mac-address=${item.mac.toUpperCase()}`,
    ...(item.mtu ? [`mtu=${item.mtu}`] : []),
    "",
    "[ipv4]",
    `method=${item.method === "static" ? "manual" : "auto"}`,
    ...item.addresses.map((a, i) => `address${i + 1}=${a.address}/${a.prefix}${i === 0 && item.gateway ? `,${item.gateway}` : ""}`),
    ...(item.gateway && item.addresses.length === 0 ? [`gateway=${item.gateway}`] : []),
    ...(dns?.servers.length ? [`dns=${dns.servers.join(";")};`] : []),
    ...(dns?.search.length ? [`dns-search=${dns.search.join(";")};`] : []),
    ...item.routes.map((r, i) => `route${i + 1}=${r.to},${r.via}${r.metric !== undefined ? `,${r.metric}` : ""}`),
    "",
    "[ipv6]",
    "method=auto",
    "",
  ];
  return lines.join("\n");
}

/** Stable across re-runs of the step, so a resumed migration writes the same file. */
function uuidFor(mac: string): string {
  const hex = createHash("sha256").update(`va-agent:${mac}`).digest("hex");
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
