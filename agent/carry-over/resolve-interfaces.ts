import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { CapturedInterface, CarryOverWarning } from "./captured-config.ts";
import type { LiveNetwork } from "./live-network.ts";
import { type FoundInterface, normalizeMac, notCarried } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";

/** The names and MACs the old system's NICs have: ROOT/sys/class/net first, then the live `ip` state. */
interface KnownNics {
  macOf(name: string): string | undefined;
  nameOf(mac: string): string | undefined;
  names(): string[];
}

/** Gives every configured interface its MAC (the new OS may name the NIC differently) and its old name. */
export function resolveInterfaces(root: string, found: FoundInterface[], live?: LiveNetwork): { interfaces: CapturedInterface[]; warnings: CarryOverWarning[] } {
  const nics = knownNics(root, live);
  const interfaces: CapturedInterface[] = [];
  const sources = new Map<string, string>();
  const warnings: CarryOverWarning[] = [];
  for (const item of found) {
    const identity = identify(item, nics, warnings);
    if (!identity) continue;
    const earlier = sources.get(identity.mac);
    if (earlier) {
      warnings.push(notCarried("duplicate-interface", `${identity.oldName} from ${item.source}: ${earlier} already configures MAC ${identity.mac}, that one is carried`));
      continue;
    }
    sources.set(identity.mac, item.source);
    interfaces.push(toCaptured(item, identity));
  }
  return { interfaces, warnings };
}

function identify(item: FoundInterface, nics: KnownNics, warnings: CarryOverWarning[]): { mac: string; oldName: string } | undefined {
  const name = item.name && isGlob(item.name) ? matchGlob(item.name, nics.names()) : item.name;
  if (item.name && !name) {
    warnings.push(notCarried("interface-ambiguous", `${item.source} matches Name=${item.name}, which is not exactly one NIC here`));
    return undefined;
  }
  const mac = item.mac ?? (name ? nics.macOf(name) : undefined);
  if (!mac) {
    warnings.push(notCarried("interface-without-mac", `${name ?? item.source}: no MAC address found in ${item.source}, /sys/class/net or the live state`));
    return undefined;
  }
  return { mac, oldName: name ?? nics.nameOf(mac) ?? `va${mac.replaceAll(":", "").slice(-6)}` };
}

function toCaptured(item: FoundInterface, identity: { mac: string; oldName: string }): CapturedInterface {
  return {
    mac: identity.mac,
    oldName: identity.oldName,
    method: item.method,
    addresses: item.addresses,
    ...(item.gateway ? { gateway: item.gateway } : {}),
    routes: item.routes,
    ...(item.mtu ? { mtu: item.mtu } : {}),
  };
}

function knownNics(root: string, live?: LiveNetwork): KnownNics {
  const sysDir = join(root, "sys/class/net");
  const sysNames = existsSync(sysDir) ? readdirSync(sysDir).filter((name) => name !== "lo") : [];
  const sysMac = (name: string) => normalizeMac(readRootFile(root, `/sys/class/net/${name}/address`));
  const liveLinks = live?.links ?? [];
  return {
    macOf: (name) => sysMac(name) ?? liveLinks.find((link) => link.name === name)?.mac,
    nameOf: (mac) => sysNames.find((name) => sysMac(name) === mac) ?? liveLinks.find((link) => link.mac === mac)?.name,
    names: () => [...new Set([...sysNames, ...liveLinks.map((link) => link.name)])],
  };
}

function isGlob(name: string): boolean {
  return /[*?[\s]/.test(name);
}

/** networkd's Name= takes space-separated globs; carried only when they pick exactly one NIC. */
function matchGlob(pattern: string, names: string[]): string | undefined {
  const regexes = pattern.split(/\s+/).filter(Boolean).map((glob) => new RegExp(`^${glob.replace(/[.+^${}()|\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".")}$`));
  const matches = names.filter((name) => regexes.some((regex) => regex.test(name)));
  return matches.length === 1 ? matches[0] : undefined;
}
