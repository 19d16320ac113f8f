import type { CapturedAddress, CapturedRoute } from "./captured-config.ts";
import { iniValue, iniValues, type IniSection, parseIni } from "./ini-file.ts";
import { isIpv4, isIpv6, parseCidr } from "./ip-address.ts";
import { addUnique, emptyFindings, type FoundInterface, type NetworkFindings, normalizeMac, notCarried } from "./network-findings.ts";
import { listRootDir, readRootFile } from "./root-files.ts";

const DIR = "/etc/systemd/network";

/** systemd-networkd: *.network files; *.netdev (bonds, VLANs, bridges) are reported, not carried. */
export function captureNetworkd(root: string): NetworkFindings {
  const findings = emptyFindings();
  for (const file of listRootDir(root, DIR, (name) => name.endsWith(".netdev"))) {
    const ini = parseIni(readRootFile(root, `${DIR}/${file}`) ?? "");
    const kind = iniValue(ini, "NetDev", "Kind") ?? "virtual device";
    const name = iniValue(ini, "NetDev", "Name") ?? file;
    findings.warnings.push(notCarried(`${kindId(kind)}-not-carried`, `${name} from ${DIR}/${file} is a ${kind}; configure it on the new system by hand`));
  }
  for (const file of listRootDir(root, DIR, (name) => name.endsWith(".network"))) {
    captureNetworkFile(`${DIR}/${file}`, parseIni(readRootFile(root, `${DIR}/${file}`) ?? ""), findings);
  }
  return findings;
}

function kindId(kind: string): string {
  return ["bond", "vlan", "bridge"].includes(kind) ? kind : "netdev";
}

function captureNetworkFile(source: string, ini: IniSection[], findings: NetworkFindings): void {
  const name = iniValue(ini, "Match", "Name");
  const mac = normalizeMac(iniValue(ini, "Match", "MACAddress")?.split(/\s+/)[0]);
  const label = name ?? mac ?? source;
  if (!name && !mac) {
    findings.warnings.push(notCarried("unmatched-network-file", `${source} matches no interface by Name= or MACAddress=`));
    return;
  }
  for (const key of ["Bond", "VLAN", "Bridge"]) {
    if (iniValue(ini, "Network", key)) findings.warnings.push(notCarried(`${key.toLowerCase()}-not-carried`, `${label} in ${source} has ${key}=${iniValue(ini, "Network", key)}`));
  }
  const allAddresses = [...iniValues(ini, "Network", "Address"), ...iniValues(ini, "Address", "Address")];
  const ipv6 = allAddresses.filter(isIpv6);
  if (ipv6.length > 0) findings.warnings.push(notCarried("ipv6-not-carried", `IPv6 addresses ${ipv6.join(", ")} of ${label} in ${source}`));
  const dhcp = (iniValue(ini, "Network", "DHCP") ?? "no").toLowerCase();
  const addresses = allAddresses.flatMap((text) => parseCidr(text) ?? []);
  const method = ["yes", "true", "ipv4", "both"].includes(dhcp) ? "dhcp" : "static";
  if (method === "static" && addresses.length === 0) {
    findings.warnings.push(notCarried("no-address", `${label} from ${source} has no IPv4 address`));
    return;
  }
  const gateways = [...iniValues(ini, "Network", "Gateway"), ...defaultRouteGateways(ini)].filter(isIpv4);
  const mtu = Number(iniValue(ini, "Link", "MTUBytes"));
  findings.interfaces.push({
    name,
    mac,
    method,
    addresses: addresses satisfies CapturedAddress[],
    gateway: gateways[0],
    routes: routes(ini),
    mtu: Number.isInteger(mtu) && mtu > 0 ? mtu : undefined,
    source,
  } satisfies FoundInterface);
  addUnique(findings.dns.servers, iniValues(ini, "Network", "DNS").flatMap((v) => v.split(/\s+/)).filter(isIpv4));
  addUnique(findings.dns.search, iniValues(ini, "Network", "Domains").flatMap((v) => v.split(/\s+/)).map((d) => d.replace(/^~/, "")).filter((d) => d && d !== "."));
}

function defaultRouteGateways(ini: IniSection[]): string[] {
  return ini.filter((s) => s.name === "Route" && !sectionValue(s, "Destination")).flatMap((s) => sectionValue(s, "Gateway") ?? []);
}

function routes(ini: IniSection[]): CapturedRoute[] {
  return ini
    .filter((s) => s.name === "Route" && sectionValue(s, "Destination"))
    .flatMap((s) => {
      const to = parseCidr(sectionValue(s, "Destination")!, 32);
      const via = sectionValue(s, "Gateway");
      const metric = sectionValue(s, "Metric");
      if (!to || !via || !isIpv4(via)) return [];
      return [{ to: `${to.address}/${to.prefix}`, via, ...(metric ? { metric: Number(metric) } : {}) }];
    });
}

function sectionValue(section: IniSection, key: string): string | undefined {
  return section.entries.filter(([k]) => k === key).at(-1)?.[1];
}
