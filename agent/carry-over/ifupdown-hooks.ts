import type { CapturedAddress, CapturedRoute } from "./captured-config.ts";
import { familyOf, isIp, parseCidr, prefixFromNetmask } from "./ip-address.ts";
import { parseIpRouteArgs } from "./ip-route.ts";

/** What an `up`/`down` command of a stanza means, when it is one the model holds. */
export type HookMeaning =
  | { kind: "route"; route: CapturedRoute; isDefault: boolean; dev?: string }
  | { kind: "address"; address: CapturedAddress; dev?: string }
  /** A `down` command removing routes or addresses: ifdown's clean-up, nothing at boot. */
  | { kind: "cleanup" }
  | { kind: "custom" }
  | { kind: "error"; message: string };

const UP = new Set(["up", "post-up"]);
const DOWN = new Set(["down", "pre-down", "post-down"]);
export const HOOK_KEYS = new Set([...UP, ...DOWN, "pre-up"]);

/**
 * `up ip route add …`, `up ip addr add …` and route(8)'s `route add [-net|-host] … gw …` (what
 * cloud-init and hosting templates write); `|| true` and `$IFACE` as ifupdown runs them.
 */
export function hookMeaning(key: string, command: string, iface: string): HookMeaning {
  const words = command
    .replace(/\s*\|\|\s*(true|:)\s*$/, "")
    .replaceAll(/\$\{?IFACE\}?/g, iface)
    .split(/\s+/)
    .filter(Boolean);
  const program = words.shift()?.replace(/^(\/usr)?\/s?bin\//, "");
  if (DOWN.has(key)) return isCleanup(program, words) ? { kind: "cleanup" } : { kind: "custom" };
  if (!UP.has(key)) return { kind: "custom" };
  if (program === "ip") return ipCommand(words);
  if (program === "route") return routeCommand(words);
  return { kind: "custom" };
}

function isCleanup(program: string | undefined, words: string[]): boolean {
  const args = words.filter((word) => !/^-[46]$/.test(word));
  if (program === "ip") return /^(r|ro|rou|route|a|addr|address)$/.test(args[0] ?? "") && /^(del|delete|flush)$/.test(args[1] ?? "");
  return program === "route" && words.includes("del");
}

function ipCommand(words: string[]): HookMeaning {
  const family = words[0] === "-6" ? "ipv6" : words[0] === "-4" ? "ipv4" : undefined;
  const args = family ? words.slice(1) : words;
  const [object = "", verb = "", ...rest] = args;
  if (/^(r|ro|rou|route)$/.test(object) && (verb === "add" || verb === "replace")) return ipRoute(rest, family);
  if (/^(a|addr|address)$/.test(object) && verb === "add") return ipAddress(rest);
  return { kind: "custom" };
}

function ipRoute(args: string[], family: "ipv4" | "ipv6" | undefined): HookMeaning {
  // `ip -6 route add default dev X`: parseIpRouteArgs takes a bare `default` for IPv4.
  const words = family === "ipv6" ? args.map((word, index) => (index === 0 && word === "default" ? "::/0" : word)) : args;
  const parsed = parseIpRouteArgs(words);
  if ("error" in parsed) return { kind: "error", message: parsed.error };
  const isDefault = parsed.isDefault || parsed.route.to === "::/0" || parsed.route.to === "0.0.0.0/0";
  return { kind: "route", route: parsed.route, isDefault, ...(parsed.dev ? { dev: parsed.dev } : {}) };
}

/** `ip addr add CIDR [dev X] [label L] [broadcast B]`; a bare address is a /32 or /128, as ip takes it. */
function ipAddress(words: string[]): HookMeaning {
  const [target = "", ...rest] = words;
  const address = parseCidr(target, { ipv4: 32, ipv6: 128 });
  if (!address) return { kind: "error", message: `"${target}" is not an address` };
  let dev: string | undefined;
  while (rest.length > 0) {
    const word = rest.shift()!;
    if (word === "dev") dev = rest.shift();
    else if (word === "label" || word === "broadcast" || word === "brd") rest.shift();
    else return { kind: "error", message: `"${word}" is not understood` };
  }
  return { kind: "address", address, ...(dev ? { dev } : {}) };
}

/** route(8): `route [-A inet6|-6] add [-net|-host] TARGET[/N] [netmask M] [gw G] [metric N] [dev D]`, `route add default gw G`. */
function routeCommand(words: string[]): HookMeaning {
  let ipv6 = false;
  let target: string | undefined;
  let netmask: string | undefined;
  const route: Partial<CapturedRoute> = {};
  let dev: string | undefined;
  const rest = [...words];
  while (rest.length > 0) {
    const word = rest.shift()!;
    if (word === "-A") ipv6 = rest.shift() === "inet6";
    else if (word === "-6") ipv6 = true;
    else if (word === "-4" || word === "add" || word === "-net" || word === "-host") continue;
    else if (word === "netmask") netmask = rest.shift();
    else if (word === "gw") route.via = rest.shift();
    else if (word === "metric") route.metric = /^\d+$/.test(rest[0] ?? "") ? Number(rest.shift()) : Number.NaN;
    else if (word === "dev") dev = rest.shift();
    else if (target === undefined) target = word;
    else return { kind: "error", message: `"${word}" is not understood` };
  }
  if (!target) return { kind: "error", message: "no destination" };
  const isDefault = target === "default";
  const to = isDefault ? { address: ipv6 ? "::" : "0.0.0.0", prefix: 0 } : routeTarget(target, netmask);
  if (!to || (familyOf(to.address) === "ipv6") !== ipv6) return { kind: "error", message: `destination "${target}"${netmask ? ` netmask ${netmask}` : ""} is not understood` };
  if (route.via !== undefined && (!isIp(route.via) || familyOf(route.via) !== familyOf(to.address))) return { kind: "error", message: `gateway "${route.via}" is not an address of the destination's family` };
  if (Number.isNaN(route.metric)) return { kind: "error", message: "metric is not a number" };
  return { kind: "route", route: { to: `${to.address}/${to.prefix}`, ...route }, isDefault, ...(dev ? { dev } : {}) };
}

function routeTarget(target: string, netmask: string | undefined): CapturedAddress | undefined {
  const fallback = { ipv4: 32, ipv6: 128 };
  if (netmask === undefined) return parseCidr(target, fallback);
  const prefix = /^\d{1,3}$/.test(netmask) ? Number(netmask) : prefixFromNetmask(netmask);
  if (prefix === undefined || target.includes("/")) return undefined;
  return parseCidr(target, prefix);
}
