/** IPv4 notation helpers shared by every capture source. */
export function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

/** 255.255.255.0 → 24; undefined for a non-contiguous or malformed mask. */
export function prefixFromNetmask(netmask: string): number | undefined {
  if (!isIpv4(netmask)) return undefined;
  const bits = netmask.split(".").map((part) => Number(part).toString(2).padStart(8, "0")).join("");
  return /^1*0*$/.test(bits) ? bits.indexOf("0") === -1 ? 32 : bits.indexOf("0") : undefined;
}

/** "10.0.0.5/24" → {address, prefix}; a bare address gets `defaultPrefix`. */
export function parseCidr(text: string, defaultPrefix?: number): { address: string; prefix: number } | undefined {
  const [address = "", prefixText] = text.trim().split("/");
  const prefix = prefixText === undefined ? defaultPrefix : Number(prefixText);
  if (!isIpv4(address) || prefix === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  return { address, prefix };
}

export function isIpv6(text: string): boolean {
  return text.includes(":");
}
