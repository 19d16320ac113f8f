import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import type { ErrorObject, ValidateFunction } from "ajv";
import { writeFileAtomically } from "../disk/write-file-atomically.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import { ManifestError } from "../errors/errors.ts";
import { validate as validateCapturedConfig } from "./validate-captured-config.generated.ts";

export const CARRY_OVER_ARCHIVE_FILE = "carry-over-paths.tar";

/**
 * The document holds password hashes and the archive may hold keys: every copy of them (staging
 * directory, RAM, resume store) is 0600 from its creation. Other payload files are 0644.
 */
export function payloadFileMode(path: string): number {
  return [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE].includes(basename(path)) ? 0o600 : 0o644;
}

/** An IPv4 or IPv6 address with its prefix length. */
export interface CapturedAddress {
  address: string;
  prefix: number;
}

/**
 * A route as `ip route` means it. `to` is a CIDR (`0.0.0.0/0` / `::/0` for a default route kept as a
 * route of its own, e.g. in another table); no `via` = on-link (device) route; `type` other than
 * unicast has no device meaning (`local`, `blackhole`, `unreachable`, `prohibit`).
 */
export interface CapturedRoute {
  to: string;
  via?: string;
  metric?: number;
  src?: string;
  table?: number;
  onlink?: boolean;
  scope?: "global" | "link" | "host";
  type?: "unicast" | "local" | "blackhole" | "unreachable" | "prohibit";
}

/** The default route an interface installs: its gateway and that route's metric. */
export interface CapturedGateway {
  via: string;
  metric?: number;
}

/**
 * One address family on one interface. Absent from the interface = that family is not configured there
 * (IPv4: no address at all; IPv6: disabled, `IPV6INIT=no`, `method=disabled`; an ifupdown interface without inet6 stanza has the kernel's defaults: autoconf).
 */
export interface CapturedIpv4 {
  /** Addresses from a DHCP server, besides the static ones below. */
  dhcp: boolean;
  /** DHCP only: its router option is not installed as a default route (`DEFROUTE=no`, `never-default`). */
  neverDefault?: boolean;
  addresses: CapturedAddress[];
  gateway?: CapturedGateway;
  routes: CapturedRoute[];
}
export interface CapturedIpv6 {
  /** Router advertisements are accepted: SLAAC addresses and the router's default route. */
  autoconf: boolean;
  /** DHCPv6 (stateful) addresses. */
  dhcp: boolean;
  neverDefault?: boolean;
  addresses: CapturedAddress[];
  gateway?: CapturedGateway;
  routes: CapturedRoute[];
}

export type InterfaceKind = "ethernet" | "bond" | "vlan" | "bridge";

export interface BondSettings {
  /** The kernel's names: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb. */
  mode: string;
  miimon?: number;
  updelay?: number;
  downdelay?: number;
  lacpRate?: "slow" | "fast";
  xmitHashPolicy?: string;
  /** A port's name (an interface of this config). */
  primary?: string;
}
export interface VlanSettings {
  id: number;
  /** The interface the tagged frames go out on (an interface of this config). */
  parent: string;
}
export interface BridgeSettings {
  stp: boolean;
  forwardDelay?: number;
}

/**
 * One interface as the old system configured it. Physical NICs are bound by MAC (the new OS may name
 * them differently); virtual devices by their name, and reach their NICs through `controller`/`vlan.parent`.
 * A port of a bond or bridge (`controller` set) has no addresses of its own.
 */
export interface CapturedInterface {
  /** The old system's name: a virtual device keeps it; a NIC's name is informational. */
  name: string;
  kind: InterfaceKind;
  /** Required for ethernet (the binding); for a bond or bridge only when configured explicitly. */
  mac?: string;
  /** `boot`: brought up at boot (ONBOOT=yes, autoconnect, `auto`/`allow-hotplug`); `manual`: configured, left down. */
  activation: "boot" | "manual";
  mtu?: number;
  /** The bond or bridge this interface is a port of. */
  controller?: string;
  bond?: BondSettings;
  vlan?: VlanSettings;
  bridge?: BridgeSettings;
  ipv4?: CapturedIpv4;
  ipv6?: CapturedIpv6;
}

export interface DnsSettings {
  /** IPv4 and IPv6 name servers, in order. */
  servers: string[];
  search: string[];
}

/**
 * Something found and not carried, or carried with a caveat. `interface` names the old interface it
 * concerns, so the pre-flight can tell whether the management network is affected.
 */
export interface CarryOverWarning {
  id: string;
  message: string;
  interface?: string;
}

/** A listed account with everything needed to create it where the new OS lacks it. */
export interface CapturedAccount {
  name: string;
  passwordHash: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
  /** The primary group's name and every supplementary group it is in, with their gids. */
  groups: { name: string; gid: number; primary: boolean }[];
  /** The shadow line's fields after the hash (lastchg…reserved), kept as they were. */
  shadowAging: string;
}

/** An fstab entry for a filesystem that is not on the target disk: carried into the new fstab as it was. */
export interface CapturedMount {
  spec: string;
  mountPoint: string;
  type: string;
  options: string;
  dump: number;
  pass: number;
  /** Why it is safe to carry: `other-disk` (a disk the migration keeps) or `network`. */
  lives: "other-disk" | "network";
}

/** The neutral document `stage` captures on the old system (network, DNS, hostname, accounts, mounts, paths). */
export interface CapturedConfig {
  format: 2;
  hostname?: string;
  interfaces: CapturedInterface[];
  dns: DnsSettings;
  accounts: CapturedAccount[];
  mounts: CapturedMount[];
  paths: { path: string; archive: typeof CARRY_OVER_ARCHIVE_FILE }[];
  warnings: CarryOverWarning[];
}

// Compiled ahead of time from capturedConfigSchema (build/validators.ts).
const validateSchema = validateCapturedConfig as unknown as ValidateFunction;

export function parseCapturedConfig(document: unknown, source = "captured-config.json", hint = "Stage again with this agent version: `va-agent stage` captures it anew."): CapturedConfig {
  if (!validateSchema(document)) {
    const problems = (validateSchema.errors ?? []).map(describeSchemaError);
    throw new ManifestError(`${source} is invalid:\n  ${problems.join("\n  ")}`, hint, { problems });
  }
  return document as unknown as CapturedConfig;
}

/** Read in the tiny system, past the point of no return: the old system cannot capture it anew. */
export function readCapturedConfig(path: string): CapturedConfig | undefined {
  if (!existsSync(path)) return undefined;
  const hint = `Fix or remove ${path} from this shell (without it the new system keeps its own network, hostname and passwords), then run \`va-agent migrate\`.`;
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ManifestError(`${path} is not JSON: ${(error as Error).message}`, hint);
  }
  return parseCapturedConfig(document, path, hint);
}

export function writeCapturedConfig(path: string, config: CapturedConfig): void {
  parseCapturedConfig(config, path);
  writeFileAtomically(path, `${JSON.stringify(config, null, 2)}\n`, { mode: payloadFileMode(path) });
}

function describeSchemaError(error: ErrorObject): string {
  const field = error.instancePath ? error.instancePath.slice(1).replaceAll("/", ".") : "(top level)";
  if (error.keyword === "required") {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return `${field === "(top level)" ? "" : `${field}.`}${missing}: missing, it is required`;
  }
  if (error.keyword === "additionalProperties") {
    return `${field}: unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  }
  return `${field}: ${error.message ?? error.keyword}`;
}
