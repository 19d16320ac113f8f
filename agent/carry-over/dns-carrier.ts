import type { CapturedInterface } from "./captured-config.ts";

/**
 * Renderers that bind DNS to an interface (keyfiles, networkd, ifupdown's dns-* lines) put it on one:
 * the interface with the default gateway, else the first static one, else the first.
 */
export function dnsCarrier(interfaces: CapturedInterface[]): CapturedInterface | undefined {
  return interfaces.find((i) => i.gateway) ?? interfaces.find((i) => i.method === "static") ?? interfaces[0];
}
