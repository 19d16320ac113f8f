/** IPv4 and IPv6 notation, shared by every capture source and renderer. */
export function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

/** RFC 4291 text forms: eight groups, one `::`, an embedded IPv4 tail; a `%zone` is not an address. */
export function isIpv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(":")) return false;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === "" ? [] : half.split(":")));
  const last = groups.at(-1);
  const tailIsIpv4 = last !== undefined && last.includes(".");
  if (tailIsIpv4 && !isIpv4(last)) return false;
  const hexGroups = tailIsIpv4 ? groups.slice(0, -1) : groups;
  if (!hexGroups.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false;
  const width = hexGroups.length + (tailIsIpv4 ? 2 : 0);
  return halves.length === 2 ? width <= 7 : width === 8;
}

export function isIp(text: string): boolean {
  return isIpv4(text) || isIpv6(text);
}

export function familyOf(address: string): "ipv4" | "ipv6" | undefined {
  return isIpv4(address) ? "ipv4" : isIpv6(address) ? "ipv6" : undefined;
}

/** 255.255.255.0 → 24; undefined for a non-contiguous or malformed mask. */
export function prefixFromNetmask(netmask: string): number | undefined {
  if (!isIpv4(netmask)) return undefined;
  const bits = netmask.split(".").map((part) => Number(part).toString(2).padStart(8, "0")).join("");
  return /^1*0*$/.test(bits) ? bits.indexOf("0") === -1 ? 32 : bits.indexOf("0") : undefined;
}

/**
 * "10.0.0.5/24" or "2001:db8::5/64" → {address, prefix}; a bare address gets `defaultPrefix`
 * (a number, or per family). IPv6 addresses are kept as written but lower-cased.
 */
export function parseCidr(text: string, defaultPrefix?: number | { ipv4: number; ipv6: number }): { address: string; prefix: number } | undefined {
  const [rawAddress = "", prefixText, extra] = text.trim().split("/");
  if (extra !== undefined) return undefined;
  const family = familyOf(rawAddress);
  if (!family) return undefined;
  const fallback = typeof defaultPrefix === "object" ? defaultPrefix[family] : defaultPrefix;
  const prefix = prefixText === undefined ? fallback : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : undefined;
  if (prefix === undefined || prefix > (family === "ipv4" ? 32 : 128)) return undefined;
  return { address: family === "ipv6" ? rawAddress.toLowerCase() : rawAddress, prefix };
}

/** The default-route destination of a family, as `to` is written in the captured model. */
export function defaultDestination(family: "ipv4" | "ipv6"): string {
  return family === "ipv4" ? "0.0.0.0/0" : "::/0";
}

/** IPv4 as is; IPv6 in RFC 5952 form (lower case, no leading zeros, the longest zero run as `::`). */
export function canonicalAddress(address: string): string {
  if (isIpv4(address) || !isIpv6(address)) return address;
  const groups = expandIpv6(address.toLowerCase()).map((group) => group.replace(/^0+(?=.)/, ""));
  let best = { start: -1, length: 0 };
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === "0") length++;
    if (length > best.length) best = { start, length };
  }
  if (best.length < 2) return groups.join(":");
  return `${groups.slice(0, best.start).join(":")}::${groups.slice(best.start + best.length).join(":")}`;
}

function expandIpv6(address: string): string[] {
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  const hex = tail
    ? address.replace(tail[1]!, tail[1]!.split(".").map(Number).reduce((parts, byte, i) => (i % 2 === 0 ? [...parts, byte << 8] : [...parts.slice(0, -1), parts.at(-1)! | byte]), [] as number[]).map((n) => n.toString(16)).join(":"))
    : address;
  const [head = "", rest] = hex.split("::");
  const left = head ? head.split(":") : [];
  const right = rest === undefined ? [] : rest ? rest.split(":") : [];
  return rest === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
}

/** Two texts name the same address (IPv6 written in any of its forms). */
export function sameAddress(a: string, b: string): boolean {
  return canonicalAddress(a) === canonicalAddress(b);
}
