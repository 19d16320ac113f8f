import type { CapturedAddress } from "./captured-config.ts";
import { familyOf, isIpv4 } from "./ip-address.ts";

/** Whether `address` lies in the subnet of `network` (an interface address with its prefix); same family only. */
export function subnetContains(network: CapturedAddress, address: string): boolean {
  const family = familyOf(address);
  if (!family || family !== familyOf(network.address)) return false;
  const width = family === "ipv4" ? 32 : 128;
  const shift = BigInt(width - network.prefix);
  return ipToBigInt(network.address) >> shift === ipToBigInt(address) >> shift;
}

function ipToBigInt(address: string): bigint {
  if (isIpv4(address)) return address.split(".").reduce((sum, part) => (sum << 8n) | BigInt(Number(part)), 0n);
  const [head = "", tail] = address.split("::");
  const groups = (half: string) => half.split(":").filter(Boolean).flatMap(ipv6Group);
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
  return all.reduce((sum, group) => (sum << 16n) | BigInt(group), 0n);
}

/** A hex group, or an embedded IPv4 tail as its two groups. */
function ipv6Group(group: string): number[] {
  if (!group.includes(".")) return [Number.parseInt(group, 16)];
  const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number);
  return [(a << 8) | b, (c << 8) | d];
}
