import type { CapturedInterface, CarryOverWarning, DnsSettings } from "./captured-config.ts";

/**
 * One interface as a configuration source describes it, before it is bound to a NIC: a NIC may be
 * named only (ifupdown, ifcfg without HWADDR) or by a networkd glob (`en*`); resolve-interfaces gives it
 * its MAC. Everything else is already in the captured form.
 */
export type FoundInterface = Omit<CapturedInterface, "mac" | "name"> & {
  /** The old system's name; networkd may give a glob (`en*`). Absent when only a MAC matches. */
  name?: string;
  mac?: string;
  /** The file it came from, for warnings. */
  source: string;
};

/** What one configuration source (ifcfg, keyfiles, ifupdown, networkd) says about the network. */
export interface NetworkFindings {
  interfaces: FoundInterface[];
  dns: DnsSettings;
  warnings: CarryOverWarning[];
}

export function emptyFindings(): NetworkFindings {
  return { interfaces: [], dns: { servers: [], search: [] }, warnings: [] };
}

/** Everything left behind is said so, in the same words: "not carried: …". */
export function notCarried(id: string, message: string, iface?: string): CarryOverWarning {
  return { id, message: `not carried: ${message}`, ...(iface ? { interface: iface } : {}) };
}

export function normalizeMac(text: string | undefined): string | undefined {
  const mac = text?.trim().toLowerCase().replaceAll("-", ":");
  return mac && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) ? mac : undefined;
}

export function addUnique(list: string[], values: Iterable<string>): void {
  for (const value of values) if (value && !list.includes(value)) list.push(value);
}
