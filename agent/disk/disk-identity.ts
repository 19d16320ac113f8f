import type { BlockDevice } from "../machine/machine.ts";

/**
 * What stays true of the target disk across boots, whatever kernel name it gets: a power cut can
 * bring it back as /dev/vdb while another disk takes /dev/vda. WWN and serial as lsblk reports them
 * (virtio-blk has a serial only when the host sets one, no WWN); the size; and the partition tables
 * it may carry (lsblk PTUUID): the old system's (GPT disk GUID or MBR signature) until
 * partition-disk writes the new layout's GPT disk GUID.
 */
export interface DiskIdentity {
  sizeBytes: number;
  wwn?: string;
  serial?: string;
  partitionTableIds: string[];
}

/** The identity of a probed disk; `newTableId`: the GPT disk GUID partition-disk will write (the layout's). */
export function diskIdentity(disk: BlockDevice, newTableId?: string): DiskIdentity {
  const tables = [disk.ptuuid, newTableId].filter((id): id is string => Boolean(id)).map(normalized);
  return {
    sizeBytes: disk.sizeBytes,
    ...(disk.wwn ? { wwn: normalized(disk.wwn) } : {}),
    ...(disk.serial ? { serial: disk.serial.trim() } : {}),
    partitionTableIds: [...new Set(tables)],
  };
}

/**
 * The disks of a fresh probe that are the recorded one. Size always; WWN and serial where recorded
 * (a hardware identity beats a partition table, which changes mid-migration); the partition table
 * decides where no hardware identity was recorded, or where several disks share it.
 */
export function disksMatching(identity: DiskIdentity, devices: readonly BlockDevice[]): BlockDevice[] {
  const sameHardware = devices.filter(
    (device) =>
      device.type === "disk" &&
      device.sizeBytes === identity.sizeBytes &&
      (!identity.wwn || normalized(device.wwn ?? "") === identity.wwn) &&
      (!identity.serial || (device.serial ?? "").trim() === identity.serial),
  );
  const hasHardwareId = Boolean(identity.wwn || identity.serial);
  if (hasHardwareId && sameHardware.length <= 1) return sameHardware;
  return sameHardware.filter((device) => device.ptuuid !== undefined && identity.partitionTableIds.includes(normalized(device.ptuuid)));
}

export function describeIdentity(identity: DiskIdentity): string {
  const parts = [
    ...(identity.wwn ? [`WWN ${identity.wwn}`] : []),
    ...(identity.serial ? [`serial ${identity.serial}`] : []),
    `${identity.sizeBytes} bytes`,
    ...(identity.partitionTableIds.length > 0 ? [`partition table ${identity.partitionTableIds.join(" or ")}`] : []),
  ];
  return parts.join(", ");
}

export function describeDisk(device: BlockDevice): string {
  const ids = [device.wwn && `WWN ${device.wwn}`, device.serial && `serial ${device.serial}`, device.ptuuid && `partition table ${device.ptuuid}`].filter(Boolean);
  return `${device.path} (${[`${device.sizeBytes} bytes`, ...ids].join(", ")})`;
}

const normalized = (id: string) => id.trim().toLowerCase();
