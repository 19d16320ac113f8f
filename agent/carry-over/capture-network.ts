import { captureIfcfg } from "./capture-ifcfg.ts";
import { captureIfupdown } from "./capture-ifupdown.ts";
import { captureNetworkd } from "./capture-networkd.ts";
import { captureNmKeyfiles } from "./capture-nm-keyfile.ts";
import { captureResolvConf } from "./capture-resolv-conf.ts";
import type { CapturedInterface, CarryOverWarning, DnsSettings } from "./captured-config.ts";
import { crossCheckLive } from "./cross-check-live.ts";
import type { LiveNetwork } from "./live-network.ts";
import { addUnique, emptyFindings, type NetworkFindings, notCarried } from "./network-findings.ts";
import { resolveInterfaces } from "./resolve-interfaces.ts";
import { listRootDir } from "./root-files.ts";

export interface CapturedNetwork {
  interfaces: CapturedInterface[];
  dns: DnsSettings;
  warnings: CarryOverWarning[];
}

/** Every source the old system may use, in this order: the first to configure a MAC wins. */
const SOURCES: ((root: string) => NetworkFindings)[] = [captureIfcfg, captureNmKeyfiles, captureIfupdown, captureNetworkd];

export function captureNetwork(root: string, live: LiveNetwork | undefined): CapturedNetwork {
  const all = emptyFindings();
  for (const source of SOURCES) {
    const findings = source(root);
    all.interfaces.push(...findings.interfaces);
    addUnique(all.dns.servers, findings.dns.servers);
    addUnique(all.dns.search, findings.dns.search);
    all.warnings.push(...findings.warnings);
  }
  const resolved = resolveInterfaces(root, all.interfaces, live);
  const warnings = [...all.warnings, ...resolved.warnings, ...unknownSources(root)];
  if (live) warnings.push(...crossCheckLive(resolved.interfaces, live));
  else warnings.push({ id: "live-unchecked", message: "the live network state (`ip -j addr`) could not be read; the files were not cross-checked" });
  return { interfaces: resolved.interfaces, dns: withResolvConfFallback(root, all.dns, warnings), warnings };
}

function withResolvConfFallback(root: string, dns: DnsSettings, warnings: CarryOverWarning[]): DnsSettings {
  if (dns.servers.length > 0) return dns;
  const fallback = captureResolvConf(root);
  warnings.push(...fallback.warnings);
  return { servers: fallback.dns.servers, search: dns.search.length > 0 ? dns.search : fallback.dns.search };
}

function unknownSources(root: string): CarryOverWarning[] {
  const netplan = listRootDir(root, "/etc/netplan", (name) => name.endsWith(".yaml"));
  const otherKeyfiles = listRootDir(root, "/etc/NetworkManager/system-connections", (name) => !name.endsWith(".nmconnection"));
  return [
    ...netplan.map((name) => notCarried("unknown-source", `/etc/netplan/${name}: netplan configuration is not read`)),
    ...otherKeyfiles.map((name) => notCarried("unknown-source", `/etc/NetworkManager/system-connections/${name}: only *.nmconnection keyfiles are read`)),
  ];
}
