import { captureIfcfg } from "./capture-ifcfg.ts";
import { captureIfupdown } from "./capture-ifupdown.ts";
import { captureNetworkd } from "./capture-networkd.ts";
import { captureNmKeyfiles } from "./capture-nm-keyfile.ts";
import { effectiveDns } from "./capture-resolv-conf.ts";
import type { CapturedInterface, CarryOverWarning, DnsSettings } from "./captured-config.ts";
import { crossCheckLive } from "./cross-check-live.ts";
import type { LiveNetwork } from "./live-network.ts";
import { addUnique, emptyFindings, type FoundInterface, type NetworkFindings, notCarried } from "./network-findings.ts";
import { resolveInterfaces } from "./resolve-interfaces.ts";
import { listRootDir } from "./root-files.ts";

export interface CapturedNetwork {
  interfaces: CapturedInterface[];
  dns: DnsSettings;
  warnings: CarryOverWarning[];
}

/** Every source the old system may use, in this order: the first to configure a NIC or a virtual device wins. */
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
  const dns = effectiveDns(root, all.dns);
  const warnings = [...all.warnings, ...resolved.warnings, ...dns.warnings, ...netplanSources(root, all.interfaces)];
  if (live) warnings.push(...crossCheckLive(resolved.interfaces, live));
  else warnings.push({ id: "live-unchecked", message: "the live network state (`ip -j addr`) could not be read; the files were not cross-checked" });
  return { interfaces: resolved.interfaces, dns: dns.dns, warnings };
}

/** Where netplan's generator writes at boot (runtime directories: empty when the old root is not running). */
const NETPLAN_GENERATED = [
  { dir: "/run/systemd/network", prefix: "10-netplan-" },
  { dir: "/run/NetworkManager/system-connections", prefix: "netplan-" },
];

/**
 * netplan YAML is not read: what it means is carried only through the files its generator wrote,
 * when a source read them. Otherwise each YAML file is reported.
 */
function netplanSources(root: string, found: FoundInterface[]): CarryOverWarning[] {
  const yaml = ["/etc/netplan", "/run/netplan", "/lib/netplan"].flatMap((dir) => listRootDir(root, dir, (name) => name.endsWith(".yaml")).map((name) => `${dir}/${name}`));
  if (yaml.length === 0) return [];
  const generated = NETPLAN_GENERATED.flatMap(({ dir, prefix }) => listRootDir(root, dir, (name) => name.startsWith(prefix)).map((name) => `${dir}/${name}`));
  const read = generated.filter((path) => found.some((item) => item.source === path));
  if (read.length > 0) return [];
  const why =
    generated.length > 0
      ? `netplan configuration is not read, and its generated files (${generated.join(", ")}) were not read either`
      : "netplan configuration is not read, and its generated files (/run/systemd/network/10-netplan-*, /run/NetworkManager/system-connections/netplan-*) are absent (they exist only while the system runs)";
  return yaml.map((path) => notCarried("unknown-source", `${path}: ${why}`));
}
