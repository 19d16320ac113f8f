import type { CapturedAddress, CapturedRoute } from "./captured-config.ts";
import type { IniSection } from "./ini-file.ts";
import { familyOf, isIp } from "./ip-address.ts";
import { keyfileString, keysOf, rawValue } from "./nm-keyfile.ts";

type Family = "ipv4" | "ipv6";
export type Parsed<T> = { value: T } | { error: string };

/**
 * `address1=`, `addresses2=`, `route=`, `routes3=`… in NetworkManager's order: by number (the bare key
 * first), `address` before `addresses`; one item per key.
 */
export function numberedKeys(sections: IniSection[], family: Family, base: "address" | "route"): string[] {
  const pattern = new RegExp(`^${base}(${base === "address" ? "es" : "s"})?(0|[1-9]\\d*)?$`);
  return keysOf(sections, family)
    .flatMap((key) => {
      const match = pattern.exec(key);
      return match ? [{ key, index: match[2] === undefined ? -1 : Number(match[2]), plural: match[1] ? 1 : 0 }] : [];
    })
    .sort((a, b) => a.index - b.index || a.plural - b.plural)
    .map((entry) => entry.key);
}

/**
 * NetworkManager's item syntax: `ADDR/PLEN,GATEWAY` (routes: `,METRIC` after it), where `/`, `;` and `,`
 * are interchangeable (the old `addresses1=192.168.0.5;24;192.168.0.1;`) and a missing prefix defaults
 * to 24 for IPv4, 64 for an IPv6 address, 128 for an IPv6 route.
 */
function fieldsOf(text: string, family: Family, isRoute: boolean): Parsed<{ address: string; prefix: number; gateway?: string; metric?: number }> {
  const fields = text.trim().split(/[/;,]/);
  if (fields.at(-1) === "" && fields.length > 1) fields.pop();
  const [address = "", ...rest] = fields;
  const prefixText = /^\d+$/.test(rest[0] ?? "") ? rest.shift() : undefined;
  let [gateway, metricText]: (string | undefined)[] = rest;
  const garbage = rest.slice(2);
  if (garbage.some(Boolean) || (!isRoute && metricText)) return { error: "has more fields than NetworkManager reads" };
  // An old writer put `ADDR/PLEN,METRIC` for an IPv6 route without a gateway; NetworkManager reads it so.
  if (isRoute && family === "ipv6" && metricText === undefined && /^\d+$/.test(gateway ?? "")) [gateway, metricText] = [undefined, gateway];
  if (familyOf(address) !== family) return { error: `"${address}" is not an ${family === "ipv4" ? "IPv4" : "IPv6"} address` };
  const prefix = prefixText === undefined ? (family === "ipv4" ? 24 : isRoute ? 128 : 64) : Number(prefixText);
  if (prefix > (family === "ipv4" ? 32 : 128)) return { error: `prefix /${prefixText} is too long` };
  if (gateway && familyOf(gateway) !== family) return { error: `gateway "${gateway}" is not an address of its family` };
  if (metricText && !/^\d+$/.test(metricText)) return { error: `metric "${metricText}" is not a number` };
  const unspecified = gateway === "0.0.0.0" || gateway === "::";
  return {
    value: {
      address: family === "ipv6" ? address.toLowerCase() : address,
      prefix,
      ...(gateway && !unspecified ? { gateway: family === "ipv6" ? gateway.toLowerCase() : gateway } : {}),
      ...(metricText ? { metric: Number(metricText) } : {}),
    },
  };
}

export function parseNmAddress(text: string, family: Family): Parsed<{ address: CapturedAddress; gateway?: string }> {
  const parsed = fieldsOf(text, family, false);
  if ("error" in parsed) return parsed;
  const { address, prefix, gateway } = parsed.value;
  return { value: { address: { address, prefix }, ...(gateway ? { gateway } : {}) } };
}

const ROUTE_TYPES = ["unicast", "local", "blackhole", "unreachable", "prohibit"] as const;
const SCOPES: Record<string, CapturedRoute["scope"]> = { "0": "global", "253": "link", "254": "host" };
export const SCOPE_NUMBERS: Record<NonNullable<CapturedRoute["scope"]>, number> = { global: 0, link: 253, host: 254 };

/** `routeN=` with its `routeN_options=` (`onlink=true,src=…,table=…,scope=253,type=…`); other options refuse the route. */
export function parseNmRoute(text: string, options: string | undefined, family: Family): Parsed<CapturedRoute> {
  const parsed = fieldsOf(text, family, true);
  if ("error" in parsed) return parsed;
  const { address, prefix, gateway, metric } = parsed.value;
  const route: CapturedRoute = { to: `${address}/${prefix}`, ...(gateway ? { via: gateway } : {}), ...(metric !== undefined ? { metric } : {}) };
  for (const option of splitOptions(options)) {
    const problem = applyRouteOption(route, option, family);
    if (problem) return { error: problem };
  }
  return { value: route };
}

function splitOptions(options: string | undefined): [string, string][] {
  return (options ?? "")
    .split(/(?<!\\),/)
    .filter((part) => part.trim() !== "")
    .map((part) => {
      const at = part.indexOf("=");
      return at < 0 ? [part.trim(), ""] : [part.slice(0, at).trim(), part.slice(at + 1).trim().replaceAll("\\,", ",")];
    });
}

function applyRouteOption(route: CapturedRoute, [name, value]: [string, string], family: Family): string | undefined {
  if (name === "onlink") {
    const on = asBoolean(value);
    if (on === undefined) return `onlink=${value} is not a boolean`;
    if (on) route.onlink = true;
  } else if (name === "src") {
    if (!isIp(value) || familyOf(value) !== family) return `src=${value} is not an address of the route's family`;
    route.src = value.toLowerCase();
  } else if (name === "table") {
    if (!/^\d+$/.test(value)) return `table=${value} is not a number`;
    if (Number(value) !== 0) route.table = Number(value);
  } else if (name === "scope") {
    const scope = SCOPES[value];
    if (!scope) return `scope=${value} is not carried (only 0, 253 and 254)`;
    route.scope = scope;
  } else if (name === "type") {
    if (!(ROUTE_TYPES as readonly string[]).includes(value)) return `type=${value} is not carried`;
    if (value !== "unicast") route.type = value as CapturedRoute["type"];
  } else return `option ${name}=${value} is not carried`;
  return undefined;
}

/** NetworkManager's attribute booleans (`_nm_utils_ascii_str_to_bool`). */
function asBoolean(value: string): boolean | undefined {
  const word = value.toLowerCase();
  return ["true", "yes", "on", "1"].includes(word) ? true : ["false", "no", "off", "0"].includes(word) ? false : undefined;
}

/** The value of a numbered key, unescaped. */
export function itemText(sections: IniSection[], family: Family, key: string): string {
  return keyfileString(rawValue(sections, family, key)) ?? "";
}
