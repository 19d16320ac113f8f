import type { CapturedAddress, CapturedRoute } from "./captured-config.ts";
import { iniValue, iniValues, type IniSection, parseIni } from "./ini-file.ts";
import { isIpv4, parseCidr } from "./ip-address.ts";
import { addUnique, emptyFindings, type FoundInterface, type NetworkFindings, normalizeMac, notCarried } from "./network-findings.ts";
import { listRootDir, readRootFile } from "./root-files.ts";

const DIR = "/etc/NetworkManager/system-connections";
const ETHERNET = ["ethernet", "802-3-ethernet"];

/** NetworkManager keyfiles: one connection per *.nmconnection file. */
export function captureNmKeyfiles(root: string): NetworkFindings {
  const findings = emptyFindings();
  for (const file of listRootDir(root, DIR, (name) => name.endsWith(".nmconnection"))) {
    const source = `${DIR}/${file}`;
    const ini = parseIni(readRootFile(root, source) ?? "");
    const label = iniValue(ini, "connection", "interface-name") ?? iniValue(ini, "connection", "id") ?? file;
    const type = iniValue(ini, "connection", "type") ?? "";
    if (!ETHERNET.includes(type) || iniValue(ini, "connection", "master") || iniValue(ini, "connection", "controller")) {
      const what = iniValue(ini, "connection", "slave-type") ?? type;
      findings.warnings.push(notCarried(`${kindId(what)}-not-carried`, `${label} from ${source} is a ${what} connection; configure it on the new system by hand`));
      continue;
    }
    const ipv6Method = iniValue(ini, "ipv6", "method");
    if (ipv6Method === "manual" || ipv6Method === "dhcp") {
      findings.warnings.push(notCarried("ipv6-not-carried", `IPv6 (${ipv6Method}) of ${label} in ${source}`));
    }
    const found = interfaceFrom(ini, label, source, findings);
    if (found) findings.interfaces.push(found);
    addUnique(findings.dns.servers, splitList(iniValue(ini, "ipv4", "dns")).filter(isIpv4));
    addUnique(findings.dns.search, splitList(iniValue(ini, "ipv4", "dns-search")));
  }
  return findings;
}

function kindId(type: string): string {
  return ["bond", "vlan", "bridge"].includes(type) ? type : "connection-type";
}

function interfaceFrom(ini: IniSection[], label: string, source: string, findings: NetworkFindings): FoundInterface | undefined {
  const method = iniValue(ini, "ipv4", "method") ?? "auto";
  if (method !== "manual" && method !== "auto") {
    findings.warnings.push(notCarried("no-address", `${label} from ${source} has IPv4 method ${method}`));
    return undefined;
  }
  const addresses: CapturedAddress[] = [];
  let gateway = iniValue(ini, "ipv4", "gateway");
  for (const value of addressValues(ini)) {
    const [cidr = "", gw] = value.split(",");
    const parsed = parseCidr(cidr, 32);
    if (parsed) addresses.push(parsed);
    if (gw && !gateway) gateway = gw.trim();
  }
  const mtu = Number(ethernetValue(ini, "mtu"));
  return {
    name: iniValue(ini, "connection", "interface-name"),
    mac: normalizeMac(ethernetValue(ini, "mac-address")),
    method: method === "manual" ? "static" : "dhcp",
    addresses,
    gateway: gateway && isIpv4(gateway) ? gateway : undefined,
    routes: routeValues(ini),
    mtu: Number.isInteger(mtu) && mtu > 0 ? mtu : undefined,
    source,
  };
}

/** address1=, address2=, … in numeric order. */
function addressValues(ini: IniSection[]): string[] {
  return numbered(ini, /^address(\d+)$/);
}

function routeValues(ini: IniSection[]): CapturedRoute[] {
  return numbered(ini, /^route(\d+)$/).flatMap((value) => {
    const [cidr = "", via, metric] = value.split(",").map((part) => part.trim());
    const to = parseCidr(cidr, 32);
    if (!to || !via || !isIpv4(via)) return [];
    return [{ to: `${to.address}/${to.prefix}`, via, ...(metric ? { metric: Number(metric) } : {}) }];
  });
}

function numbered(ini: IniSection[], pattern: RegExp): string[] {
  const entries = ini.filter((s) => s.name === "ipv4").flatMap((s) => s.entries);
  return entries
    .filter(([key]) => pattern.test(key))
    .sort(([a], [b]) => Number(pattern.exec(a)![1]) - Number(pattern.exec(b)![1]))
    .map(([, value]) => value.replace(/;$/, ""));
}

function ethernetValue(ini: IniSection[], key: string): string | undefined {
  return ETHERNET.flatMap((section) => iniValues(ini, section, key)).at(-1);
}

function splitList(value: string | undefined): string[] {
  return (value ?? "").split(/[;,]/).map((part) => part.trim()).filter(Boolean);
}
