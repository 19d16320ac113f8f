import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { CapturedInterface, CarryOverWarning } from "./captured-config.ts";
import { bindingMac, type LiveNetwork } from "./live-network.ts";
import { type FoundInterface, normalizeMac, notCarried } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";

/** The names and MACs the old system's NICs have: ROOT/sys/class/net first, then the live `ip` state. */
interface KnownNics {
  macOf(name: string): string | undefined;
  nameOf(mac: string): string | undefined;
  /** Other NICs claiming the same MAC, none with its own permanent one: a bond lent it to its ports. */
  sharing(name: string, mac: string): string[];
  names(): string[];
}

interface Bound {
  item: FoundInterface;
  name: string;
  mac?: string;
}

/**
 * Binds every configured interface: a NIC by its MAC (the new OS may name it differently), a bond,
 * VLAN or bridge by its name. Then every port's controller and every VLAN's parent must be carried too,
 * else that interface is not carried either (and what rests on it, in turn).
 */
export function resolveInterfaces(root: string, found: FoundInterface[], live?: LiveNetwork): { interfaces: CapturedInterface[]; warnings: CarryOverWarning[] } {
  const nics = knownNics(root, live);
  const warnings: CarryOverWarning[] = [];
  const bound: Bound[] = [];
  const aliases = new Map<string, string>();
  const carriedFrom = new Map<string, string>();
  for (const item of found) {
    for (const identity of item.kind === "ethernet" ? identifyNics(item, nics, warnings) : identifyVirtual(item, warnings)) {
      if (item.name) aliases.set(item.name, identity.name);
      const key = identity.mac ? `MAC ${identity.mac}` : `${item.kind} ${identity.name}`;
      const earlier = carriedFrom.get(key);
      if (earlier) {
        warnings.push(notCarried("duplicate-interface", `${identity.name} from ${item.source}: ${earlier} already configures ${key}, that one is carried`, identity.name));
        continue;
      }
      carriedFrom.set(key, item.source);
      bound.push({ item, ...identity });
    }
  }
  const interfaces = bound.map((b) => toCaptured(b, (name) => aliases.get(name) ?? name));
  return { interfaces: withReferencesCarried(interfaces, warnings), warnings };
}

/**
 * networkd's Name= takes space-separated globs: carried when they pick exactly one NIC, or, for the
 * ports of a bond or bridge (no addresses to duplicate), every NIC they pick.
 */
function identifyNics(item: FoundInterface, nics: KnownNics, warnings: CarryOverWarning[]): { name: string; mac: string }[] {
  // a MAC in the file binds on its own; a glob beside it only narrows what networkd matches
  if (item.mac || !item.name || !isGlob(item.name)) return [identifyNic(item, item.name && !isGlob(item.name) ? item.name : undefined, nics, warnings) ?? []].flat();
  const matches = matchGlob(item.name, nics.names());
  if (matches.length === 1 || (item.controller && matches.length > 1)) return matches.flatMap((name) => identifyNic(item, name, nics, warnings) ?? []);
  warnings.push(notCarried("interface-ambiguous", `${item.source} matches Name=${item.name}, which is ${matches.length === 0 ? "no NIC" : `${matches.length} NICs (${matches.join(", ")})`} here`));
  return [];
}

function identifyNic(item: FoundInterface, name: string | undefined, nics: KnownNics, warnings: CarryOverWarning[]): { name: string; mac: string } | undefined {
  const fileMac = normalizeMac(item.mac);
  const mac = fileMac ?? (name ? nics.macOf(name) : undefined);
  if (!mac) {
    warnings.push(notCarried("interface-without-mac", `${name ?? item.source}: no MAC address found in ${item.source}, /sys/class/net or the live state`, name));
    return undefined;
  }
  const sharing = !fileMac && name ? nics.sharing(name, mac) : [];
  if (sharing.length > 0) {
    warnings.push(notCarried("interface-mac-shared", `${name} from ${item.source}: its MAC ${mac} is also ${sharing.join(", ")}'s (a bond's), and its own (bonding_slave/perm_hwaddr) is not known`, name));
    return undefined;
  }
  return { name: name ?? nics.nameOf(mac) ?? `va${mac.replaceAll(":", "").slice(-6)}`, mac };
}

function identifyVirtual(item: FoundInterface, warnings: CarryOverWarning[]): { name: string; mac?: string }[] {
  if (!item.name || isGlob(item.name)) {
    warnings.push(notCarried("interface-without-name", `the ${item.kind} from ${item.source} has no single name`));
    return [];
  }
  const mac = normalizeMac(item.mac);
  return [{ name: item.name, ...(mac ? { mac } : {}) }];
}

/** `rename` maps the names a source wrote (a networkd glob) to the bound names. */
function toCaptured({ item, name, mac }: Bound, rename: (name: string) => string): CapturedInterface {
  const controller = item.controller ? rename(item.controller) : undefined;
  return {
    name,
    kind: item.kind,
    ...(mac ? { mac } : {}),
    activation: item.activation,
    ...(item.mtu !== undefined ? { mtu: item.mtu } : {}),
    ...(controller ? { controller } : {}),
    ...(item.bond ? { bond: { ...item.bond, ...(item.bond.primary ? { primary: rename(item.bond.primary) } : {}) } } : {}),
    ...(item.vlan ? { vlan: { id: item.vlan.id, parent: rename(item.vlan.parent) } } : {}),
    ...(item.bridge ? { bridge: item.bridge } : {}),
    ...(item.ipv4 ? { ipv4: item.ipv4 } : {}),
    ...(item.ipv6 ? { ipv6: item.ipv6 } : {}),
  };
}

/** Drops, each by name, a port whose controller or a VLAN whose parent is not carried; repeated until nothing more falls. */
function withReferencesCarried(interfaces: CapturedInterface[], warnings: CarryOverWarning[]): CapturedInterface[] {
  let kept = interfaces;
  for (;;) {
    const byName = new Map(kept.map((item) => [item.name, item]));
    const next = kept.filter((item) => {
      const problem = missingReference(item, byName);
      if (problem) warnings.push(notCarried(problem.id, `${item.name}: ${problem.why}`, item.name));
      return !problem;
    });
    if (next.length === kept.length) return kept.map((item) => withPrimaryCarried(item, kept, warnings));
    kept = next;
  }
}

function missingReference(item: CapturedInterface, byName: Map<string, CapturedInterface>): { id: string; why: string } | undefined {
  if (item.controller) {
    const controller = byName.get(item.controller);
    if (!controller) return { id: "controller-not-carried", why: `its controller ${item.controller} is not carried` };
    if (controller.kind !== "bond" && controller.kind !== "bridge") return { id: "controller-not-carried", why: `its controller ${item.controller} is a ${controller.kind}, not a bond or bridge` };
  }
  if (item.vlan && !byName.has(item.vlan.parent)) return { id: "vlan-parent-not-carried", why: `its VLAN parent ${item.vlan.parent} is not carried` };
  return undefined;
}

/** A bond's primary must be one of its carried ports: the new system could not honour another. */
function withPrimaryCarried(item: CapturedInterface, all: CapturedInterface[], warnings: CarryOverWarning[]): CapturedInterface {
  const primary = item.bond?.primary;
  if (!item.bond || !primary || all.some((port) => port.name === primary && port.controller === item.name)) return item;
  warnings.push(notCarried("bond-primary-not-carried", `${item.name}: its primary port ${primary} is not one of its carried ports; the bond is carried without a primary`, item.name));
  const { primary: _dropped, ...bond } = item.bond;
  return { ...item, bond };
}

function knownNics(root: string, live?: LiveNetwork): KnownNics {
  const sysNames = physicalSysNames(root);
  const sysPermanent = (name: string) => normalizeMac(readRootFile(root, `/sys/class/net/${name}/bonding_slave/perm_hwaddr`));
  const sysCurrent = (name: string) => normalizeMac(readRootFile(root, `/sys/class/net/${name}/address`));
  const liveNics = (live?.links ?? []).filter((link) => !link.kind);
  const liveNic = (name: string) => liveNics.find((link) => link.name === name);
  const macOf = (name: string) => sysPermanent(name) ?? sysCurrent(name) ?? (liveNic(name) ? bindingMac(liveNic(name)!) : undefined);
  const names = () => [...new Set([...sysNames, ...liveNics.map((link) => link.name)])];
  return {
    macOf,
    nameOf: (mac) => names().find((name) => macOf(name) === mac),
    sharing: (name, mac) => {
      if (sysPermanent(name) ?? liveNic(name)?.permanentMac) return [];
      return names().filter((other) => other !== name && macOf(other) === mac);
    },
    names,
  };
}

/** Entries of ROOT/sys/class/net with an address that are not a bond or bridge (bonding_masters is a file). */
function physicalSysNames(root: string): string[] {
  const sysDir = join(root, "sys/class/net");
  if (!existsSync(sysDir)) return [];
  return readdirSync(sysDir).sort().filter(
    (name) => name !== "lo" && existsSync(join(sysDir, name, "address")) && !existsSync(join(sysDir, name, "bonding")) && !existsSync(join(sysDir, name, "bridge")),
  );
}

function isGlob(name: string): boolean {
  return /[*?[\s]/.test(name);
}

function matchGlob(pattern: string, names: string[]): string[] {
  const regexes = pattern.split(/\s+/).filter(Boolean).map((glob) => new RegExp(`^${glob.replace(/[.+^${}()|\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".")}$`));
  return names.filter((name) => regexes.some((regex) => regex.test(name)));
}
