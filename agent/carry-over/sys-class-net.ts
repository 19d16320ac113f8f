import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { normalizeMac } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";

/** A network device the old system has, as ROOT/sys/class/net shows it. */
export interface SysNetDevice {
  name: string;
  /**
   * The NIC's own (permanent) MAC: a bond port's `address` is the bond's after enslaving,
   * `bonding_slave/perm_hwaddr` keeps its own.
   */
  permanentMac?: string;
  /** As `networkctl list` names it: the uevent DEVTYPE (bond, vlan, bridge, wlan…), else ether. */
  type: string;
  driver?: string;
  /** A real device (`device` link), not a virtual one; a fixture without uevent counts as a NIC. */
  physical: boolean;
}

export function sysNetDevices(root: string): SysNetDevice[] {
  const dir = join(root, "sys/class/net");
  const names = existsSync(dir) ? readdirSync(dir).filter((name) => name !== "lo").sort() : [];
  return names.map((name) => describe(root, name));
}

function describe(root: string, name: string): SysNetDevice {
  const base = `/sys/class/net/${name}`;
  const uevent = readRootFile(root, `${base}/uevent`);
  const devtype = uevent ? /^DEVTYPE=(.+)$/m.exec(uevent)?.[1] : undefined;
  const permanentMac = normalizeMac(readRootFile(root, `${base}/bonding_slave/perm_hwaddr`)) ?? normalizeMac(readRootFile(root, `${base}/address`));
  return {
    name,
    ...(permanentMac ? { permanentMac } : {}),
    type: devtype ?? (readRootFile(root, `${base}/type`)?.trim() === "772" ? "loopback" : "ether"),
    ...driverOf(root, base),
    physical: uevent === undefined || existsSync(join(root, base, "device")),
  };
}

function driverOf(root: string, base: string): { driver?: string } {
  try {
    return { driver: basename(readlinkSync(join(root, base, "device/driver"))) };
  } catch {
    return {};
  }
}
