/** Kernel partition device names: vda → vda3, sda → sda3, nvme0n1 → nvme0n1p3, mmcblk0 → mmcblk0p3. */
export function partitionDevice(diskPath: string, number: number): string {
  return /\d$/.test(diskPath) ? `${diskPath}p${number}` : `${diskPath}${number}`;
}

/** The number of `device` as a partition of `diskPath` (the inverse of partitionDevice), if it is one. */
export function partitionNumberOf(device: string, diskPath: string): number | undefined {
  const rest = device.startsWith(diskPath) ? device.slice(diskPath.length) : "";
  const match = (/\d$/.test(diskPath) ? /^p(\d+)$/ : /^(\d+)$/).exec(rest);
  return match ? Number(match[1]) : undefined;
}

/** `device` with the disk `from` renamed `to`: the disk itself, or its partition of the same number; anything else unchanged. */
export function renameDiskDevice(device: string, from: string, to: string): string {
  if (device === from) return to;
  const number = partitionNumberOf(device, from);
  return number === undefined ? device : partitionDevice(to, number);
}
