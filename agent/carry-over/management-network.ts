import type { CapturedInterface, CarryOverWarning } from "./captured-config.ts";

/**
 * The interfaces `name` needs to pass traffic: a VLAN's parent, a bond's or bridge's ports, and
 * what those rest on in turn (a VLAN on a bond rests on the bond and its NICs).
 */
export function restsOn(interfaces: readonly CapturedInterface[], name: string): string[] {
  const found = new Set<string>();
  const pending = [name];
  while (pending.length > 0) {
    const current = pending.pop()!;
    const item = interfaces.find((i) => i.name === current);
    const below = [...(item?.vlan ? [item.vlan.parent] : []), ...interfaces.filter((i) => i.controller === current).map((i) => i.name)];
    for (const next of below) {
      if (next === name || found.has(next)) continue;
      found.add(next);
      pending.push(next);
    }
  }
  return [...found].sort();
}

/** A finding that something was left behind (network-findings.ts words them all "not carried: …"). */
export function isNotCarried(warning: CarryOverWarning): boolean {
  return warning.message.startsWith("not carried: ");
}

/**
 * Why the management network would not come back as it is, per interface it involves (the
 * management interfaces and what they rest on): a finding that something of it was not carried,
 * or the interface missing from the capture altogether.
 */
export function managementGaps(interfaces: readonly CapturedInterface[], warnings: readonly CarryOverWarning[], management: readonly string[]): Map<string, string[]> {
  const involved = [...new Set(management.flatMap((name) => [name, ...restsOn(interfaces, name)]))].sort();
  const gaps = new Map<string, string[]>();
  for (const name of involved) {
    const reasons = warnings.filter((w) => w.interface === name && isNotCarried(w)).map((w) => w.message);
    if (!interfaces.some((i) => i.name === name)) reasons.push(`${name} is not in the captured configuration`);
    if (reasons.length > 0) gaps.set(name, reasons);
  }
  return gaps;
}
