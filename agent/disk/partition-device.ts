/** Kernel partition device names: vda → vda3, sda → sda3, nvme0n1 → nvme0n1p3, mmcblk0 → mmcblk0p3. */
export function partitionDevice(diskPath: string, number: number): string {
  return /\d$/.test(diskPath) ? `${diskPath}p${number}` : `${diskPath}${number}`;
}
