import type { CapturedInterface } from "./captured-config.ts";

/**
 * Renderers that bind DNS to an interface (keyfiles, networkd, ifupdown's dns-* lines) put it on one
 * that is up at boot and has addresses of its own: the one with a default gateway, else the first with
 * a static address, else the first.
 */
export function dnsCarrier(interfaces: CapturedInterface[]): CapturedInterface | undefined {
  const candidates = interfaces.filter((i) => i.activation === "boot" && !i.controller && (i.ipv4 || i.ipv6));
  return (
    candidates.find((i) => i.ipv4?.gateway || i.ipv6?.gateway) ??
    candidates.find((i) => (i.ipv4?.addresses.length ?? 0) + (i.ipv6?.addresses.length ?? 0) > 0) ??
    candidates[0]
  );
}
