import { disksUnder, type DeviceNode } from "../disk/device-tree.ts";
import type { PhysicalVolumeListing } from "./physical-volumes.ts";

/**
 * One rule for `stage`'s pre-flight and the tiny system's plan: the new system's VG name must not
 * be taken by a VG that outlives the migration. wipe-old-system removes every VG with a PV on the
 * target disk, so only a namesake with a PV elsewhere (another disk, a device lsblk does not list)
 * clashes; two VGs of one name make the new system unbootable.
 */
export function volumeGroupNameClash(vg: string, disk: string, lvm: PhysicalVolumeListing, devices: readonly DeviceNode[]): string | undefined {
  const elsewhere = lvm.physicalVolumes.filter((pv) => pv.vg === vg && !disksUnder(pv.device, devices).includes(disk));
  if (elsewhere.length === 0) return undefined;
  const places = elsewhere.map((pv) => {
    const disks = disksUnder(pv.device, devices);
    return disks.length > 0 && !disks.includes(pv.device) ? `${pv.device} (disk ${disks.join(", ")})` : pv.device;
  });
  return `a volume group named ${vg} already exists on ${places.join(", ")}; the new system creates its own VG ${vg} and two VGs of one name make it unbootable`;
}
