import type { CapturedRoute } from "./captured-config.ts";
import { familyOf, isIp, parseCidr } from "./ip-address.ts";

const ROUTE_TYPES = ["unicast", "local", "blackhole", "unreachable", "prohibit"] as const;
/** Words of `ip route add` that change nothing a boot needs: kept out of the model, never a refusal. */
const HARMLESS = new Set(["proto"]);

export type ParsedIpRoute = { route: CapturedRoute; dev?: string; isDefault: boolean } | { error: string };

/**
 * The arguments of `ip route add` (route-IFACE files, ifupdown `up ip route add …`):
 * `[TYPE] PREFIX|default [via GW] [dev IF] [metric|preference N] [src IP] [table N] [onlink] [scope S]`.
 * Anything else (`mtu lock`, `realm`, `nexthop`, named tables) is an error naming the word: it is never dropped.
 */
export function parseIpRouteArgs(words: string[]): ParsedIpRoute {
  const rest = words.filter(Boolean);
  const type = (ROUTE_TYPES as readonly string[]).includes(rest[0] ?? "") ? (rest.shift() as CapturedRoute["type"]) : undefined;
  const target = rest.shift();
  if (!target) return { error: "no destination" };
  const route: CapturedRoute = { to: "" };
  let dev: string | undefined;
  while (rest.length > 0) {
    const word = rest.shift()!;
    const value = () => rest.shift() ?? "";
    if (word === "via") route.via = value();
    else if (word === "dev") dev = value();
    else if (word === "metric" || word === "preference" || word === "priority") route.metric = integer(value());
    else if (word === "src") route.src = value();
    else if (word === "table") route.table = integer(value());
    else if (word === "onlink") route.onlink = true;
    else if (word === "scope") route.scope = value() as CapturedRoute["scope"];
    else if (HARMLESS.has(word)) value();
    else return { error: `"${word}" is not understood` };
  }
  const isDefault = target === "default";
  const family = route.via ? familyOf(route.via) : isDefault ? "ipv4" : familyOf(target.split("/")[0]!);
  const to = isDefault ? { address: family === "ipv6" ? "::" : "0.0.0.0", prefix: 0 } : parseCidr(target, { ipv4: 32, ipv6: 128 });
  if (!to) return { error: `destination "${target}" is not an address` };
  route.to = `${to.address}/${to.prefix}`;
  if (route.via !== undefined && (!isIp(route.via) || familyOf(route.via) !== familyOf(to.address))) return { error: `gateway "${route.via}" is not an address of the destination's family` };
  if (route.src !== undefined && !isIp(route.src)) return { error: `src "${route.src}" is not an address` };
  if (route.metric !== undefined && Number.isNaN(route.metric)) return { error: "metric is not a number" };
  if (route.table !== undefined && Number.isNaN(route.table)) return { error: "table is not a number (named tables are not carried)" };
  if (route.scope !== undefined && !["global", "link", "host"].includes(route.scope)) return { error: `scope "${route.scope}" is not understood` };
  if (type && type !== "unicast") route.type = type;
  return { route, dev, isDefault };
}

function integer(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

/** The `ip route` words of a captured route (renderers of route-IFACE files and ifupdown `up` lines). */
export function ipRouteWords(route: CapturedRoute, dev: string): string[] {
  return [
    ...(route.type ? [route.type] : []),
    route.to,
    ...(route.via ? ["via", route.via] : []),
    ...(route.type && route.type !== "unicast" ? [] : ["dev", dev]),
    ...(route.metric !== undefined ? ["metric", String(route.metric)] : []),
    ...(route.src ? ["src", route.src] : []),
    ...(route.table !== undefined ? ["table", String(route.table)] : []),
    ...(route.onlink ? ["onlink"] : []),
    ...(route.scope ? ["scope", route.scope] : []),
  ];
}
