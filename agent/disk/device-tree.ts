/**
 * A block device as lsblk lists it: the stage probe and the tiny system's probe both give this shape.
 * A device with several parents (an LV over two PVs) may appear once per parent.
 */
export interface DeviceNode {
  path: string;
  type: string;
  parent?: string | null;
  fstype?: string | null;
  mountpoint?: string | null;
}

/** The disks under a device, following every parent (partitions, PVs, device-mapper layers). */
export function disksUnder(path: string, devices: readonly DeviceNode[]): string[] {
  const ancestors = ancestorsOf(path, devices);
  return [...new Set(devices.filter((d) => d.type === "disk" && ancestors.has(d.path)).map((d) => d.path))].sort();
}

/** The device itself and everything it sits on. */
export function ancestorsOf(path: string, devices: readonly DeviceNode[]): Set<string> {
  const seen = new Set<string>();
  const pending = [path];
  while (pending.length > 0) {
    const current = pending.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    for (const device of devices) if (device.path === current && device.parent) pending.push(device.parent);
  }
  return seen;
}
