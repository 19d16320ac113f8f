import type { AccountsPlan } from "../carry-over/account-plan.ts";
import type { Capture } from "../carry-over/capture-config.ts";
import type { CapturedInterface, CarryOverWarning, DnsSettings, InterfaceKind } from "../carry-over/captured-config.ts";
import { isNotCarried, restsOn } from "../carry-over/management-network.ts";
import { carriedOptions } from "../carry-over/render-fstab-mounts.ts";
import type { Manifest } from "../manifest/manifest.ts";

export interface InterfaceReport {
  name: string;
  /** Absent for an interface the capture did not understand (its findings say what it is). */
  kind?: InterfaceKind;
  mac?: string;
  activation?: "boot" | "manual";
  controller?: string;
  /** Static addresses, CIDR. */
  addresses: string[];
  dhcp: { ipv4: boolean; ipv6: boolean; autoconf: boolean };
  /** A management interface or one it rests on. */
  management: boolean;
  carried: "yes" | "partly" | "no";
  notCarried: string[];
  notes: string[];
}

export interface AccountReport {
  name: string;
  uid?: number;
  /** `pending`: the payload's accounts are judged in the tiny system (no xz at stage). */
  carried: "hash-only" | "created" | "not-carried" | "pending";
  why: string[];
}

export interface MountReport {
  spec: string;
  mountPoint: string;
  type: string;
  carried: boolean;
  lives?: "other-disk" | "network";
  /** The options the new fstab gets. */
  options?: string;
  why?: string;
}

/** `stage --json`'s `carryOver`: what will be carried and what will not, item by item. */
export interface CarryOverReportJson {
  network: "carried" | "off";
  /** The management interfaces; null when nothing tells (no live default route, no --reached-via). */
  management: string[] | null;
  hostname?: string;
  dns: DnsSettings;
  interfaces: InterfaceReport[];
  accounts: AccountReport[];
  mounts: MountReport[];
  paths: string[];
  warnings: CarryOverWarning[];
}

export function carryOverReport(capture: Pick<Capture, "config" | "mountsLeft">, manifest: Readonly<Pick<Manifest, "carryOver">>, management: string[] | undefined, accounts: AccountsPlan | undefined): CarryOverReportJson {
  const { config } = capture;
  const involved = new Set((management ?? []).flatMap((name) => [name, ...restsOn(config.interfaces, name)]));
  return {
    network: manifest.carryOver.network === false ? "off" : "carried",
    management: management && management.length > 0 ? management : null,
    ...(config.hostname ? { hostname: config.hostname } : {}),
    dns: config.dns,
    interfaces: interfacesOf(config.interfaces, config.warnings, involved),
    accounts: manifest.carryOver.accounts.map((name) => accountOf(name, capture, accounts)),
    mounts: [
      ...config.mounts.map((m) => ({ spec: m.spec, mountPoint: m.mountPoint, type: m.type, carried: true, lives: m.lives, options: carriedOptions(m.options) })),
      ...capture.mountsLeft.map((left) => ({ spec: left.spec, mountPoint: left.mountPoint, type: left.type, carried: false, why: left.why })),
    ],
    paths: config.paths.map((p) => p.path),
    warnings: config.warnings,
  };
}

function interfacesOf(interfaces: readonly CapturedInterface[], warnings: readonly CarryOverWarning[], involved: Set<string>): InterfaceReport[] {
  const about = (name: string) => warnings.filter((w) => w.interface === name);
  const captured = interfaces.map((item): InterfaceReport => {
    const findings = about(item.name);
    const left = findings.filter(isNotCarried).map((w) => w.message);
    return {
      name: item.name,
      kind: item.kind,
      ...(item.mac ? { mac: item.mac } : {}),
      activation: item.activation,
      ...(item.controller ? { controller: item.controller } : {}),
      addresses: [...(item.ipv4?.addresses ?? []), ...(item.ipv6?.addresses ?? [])].map((a) => `${a.address}/${a.prefix}`),
      dhcp: { ipv4: item.ipv4?.dhcp ?? false, ipv6: item.ipv6?.dhcp ?? false, autoconf: item.ipv6?.autoconf ?? false },
      management: involved.has(item.name),
      carried: left.length > 0 ? "partly" : "yes",
      notCarried: left,
      notes: findings.filter((w) => !isNotCarried(w)).map((w) => w.message),
    };
  });
  const uncaptured = [...new Set(warnings.flatMap((w) => (w.interface && !interfaces.some((i) => i.name === w.interface) ? [w.interface] : [])))];
  const leftOut = [...new Set([...uncaptured, ...[...involved].filter((name) => !interfaces.some((i) => i.name === name))])].sort();
  return [
    ...captured,
    ...leftOut.map((name): InterfaceReport => {
      const findings = about(name);
      const left = findings.filter(isNotCarried).map((w) => w.message);
      return {
        name,
        addresses: [],
        dhcp: { ipv4: false, ipv6: false, autoconf: false },
        management: involved.has(name),
        carried: "no",
        notCarried: left.length > 0 ? left : [`${name} is not in the captured configuration`],
        notes: findings.filter((w) => !isNotCarried(w)).map((w) => w.message),
      };
    }),
  ];
}

function accountOf(name: string, capture: Pick<Capture, "config">, plan: AccountsPlan | undefined): AccountReport {
  const account = capture.config.accounts.find((a) => a.name === name);
  if (!account) {
    const why = capture.config.warnings.filter((w) => w.id === "account-missing" && w.message.includes(`account ${name} `)).map((w) => w.message);
    return { name, carried: "not-carried", why };
  }
  const planned = plan?.accounts.find((a) => a.name === name);
  if (!planned) return { name, uid: account.uid, carried: "pending", why: ["the payload's accounts are read in the tiny system"] };
  if (planned.action === "refused") return { name, uid: account.uid, carried: "not-carried", why: planned.clashes };
  return { name, uid: account.uid, carried: planned.action === "create" ? "created" : "hash-only", why: planned.notes };
}

/** For the operator, after the pre-flight report: one line per interface, account and mount. */
export function renderCarryOver(report: CarryOverReportJson): string {
  const lines = [`Carry-over (network ${report.network}${report.management ? `, managed over ${report.management.join(", ")}` : ""}):`];
  lines.push("  interfaces:", ...(report.interfaces.length > 0 ? report.interfaces.map(interfaceLine) : ["    none"]));
  lines.push("  accounts:", ...(report.accounts.length > 0 ? report.accounts.map(accountLine) : ["    none listed"]));
  lines.push("  mounts:", ...(report.mounts.length > 0 ? report.mounts.map(mountLine) : ["    none outside the target disk"]));
  return `${lines.join("\n")}\n`;
}

function interfaceLine(item: InterfaceReport): string {
  const what = [item.kind, item.mac, item.activation, item.controller ? `port of ${item.controller}` : undefined].filter(Boolean).join(", ");
  const dhcp = [item.dhcp.ipv4 ? "dhcp" : "", item.dhcp.ipv6 ? "dhcpv6" : "", item.dhcp.autoconf ? "autoconf" : ""].filter(Boolean);
  const addresses = [...item.addresses, ...dhcp].join(" ");
  const verdict = item.carried === "yes" ? "carried" : item.carried === "partly" ? `carried, except: ${item.notCarried.join("; ")}` : `NOT carried: ${item.notCarried.join("; ")}`;
  return `    ${item.name}${what ? ` (${what})` : ""}${addresses ? ` ${addresses}` : ""}${item.management ? " [management]" : ""}: ${verdict}`;
}

function accountLine(item: AccountReport): string {
  const verdict = { "hash-only": "password hash carried", created: `created with uid ${item.uid}`, "not-carried": "NOT carried", pending: "merged or created in the tiny system" }[item.carried];
  return `    ${item.name}: ${verdict}${item.why.length > 0 ? ` (${item.why.join("; ")})` : ""}`;
}

function mountLine(item: MountReport): string {
  return item.carried ? `    ${item.mountPoint} ${item.spec} ${item.type} ${item.options}: carried (${item.lives})` : `    ${item.mountPoint} ${item.spec} ${item.type}: not carried, ${item.why}`;
}
