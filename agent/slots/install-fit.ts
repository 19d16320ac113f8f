import { existsSync, readFileSync, realpathSync } from "node:fs";
import { InstallError } from "../errors/errors.ts";
import { check, type Entry } from "../steps/entry.ts";
import type { InstallContext } from "./install-context.ts";

/** What the image needs of the slot: the vendor's minSlotBytes, and never less than the archive itself. */
export function bytesNeeded(ictx: InstallContext): number {
  const image = ictx.facts.head.manifest;
  return Math.max(image.minSlotBytes ?? 0, image.payload.rootfs.bytes);
}

export function lvSizeCommand(ictx: InstallContext): string[] {
  return ["lvm", "lvs", "--units", "b", "--nosuffix", "--noheadings", "--options", "lv_size", `${ictx.facts.layout.vg}/${ictx.facts.lv}`];
}

/** Both judged before anything is written: the slot is not in use, and the image fits it (refused by name and size). */
export function fitEntries(ictx: InstallContext, mountinfo: () => string = readMountinfo): Entry[] {
  const { device, lv, slots } = ictx.facts;
  const vg = ictx.facts.layout.vg;
  const needed = bytesNeeded(ictx);
  const image = ictx.facts.head.manifest;
  const source = image.minSlotBytes === undefined ? `the archive's ${image.payload.rootfs.bytes} bytes (the manifest gives no minSlotBytes)` : `its minSlotBytes`;
  return [
    check(`${device} (slot ${slots.target}) is mounted nowhere: it is not the running root`, () => {
      const where = mountpointsOf(mountinfo(), device);
      if (where.length > 0) {
        throw new InstallError(`slot ${slots.target} (LV ${vg}/${lv}, ${device}) is mounted at ${where.join(", ")}: it is in use`, `Unmount it (or boot the other slot) before installing into it; nothing was written.`, { device, mountpoints: where });
      }
    }),
    check(`LV ${vg}/${lv} of slot ${slots.target} holds the image: ${needed} bytes (${gib(needed)}, ${source})`, async (ctx) => {
      const result = await ctx.run.run(lvSizeCommand(ictx), { readOnly: true });
      const size = Number(result.stdout.trim());
      if (!Number.isSafeInteger(size) || size <= 0) {
        throw new InstallError(`lvs gave no size for LV ${vg}/${lv}: ${JSON.stringify(result.stdout.trim())}`, `Check that the volume group ${vg} has the LV ${lv} (\`lvm lvs ${vg}\`); nothing was written.`, { vg, lv });
      }
      if (size < needed) {
        throw new InstallError(
          `the image does not fit slot ${slots.target}: LV ${vg}/${lv} has ${size} bytes (${gib(size)}), ${image.product.name} ${image.product.release} needs ${needed} bytes (${gib(needed)}, ${source})`,
          `Grow the slot's LV (\`lvm lvextend --size ${needed}b ${vg}/${lv}\`, with free extents in ${vg}) or get an image that fits; nothing was written.`,
          { vg, lv, lvBytes: size, neededBytes: needed },
        );
      }
      ctx.log.info(`slot ${slots.target}: LV ${vg}/${lv} has ${gib(size)}, the image needs ${gib(needed)}`);
    }, [lvSizeCommand(ictx)]),
  ];
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function readMountinfo(): string {
  return existsSync("/proc/self/mountinfo") ? readFileSync("/proc/self/mountinfo", "utf8") : "";
}

/**
 * Where /proc/self/mountinfo has this device mounted (its source, after the " - fstype" separator),
 * under whichever of its names it was mounted (/dev/mapper/VG-LV, /dev/VG/LV, /dev/dm-N).
 */
export function mountpointsOf(mountinfo: string, device: string): string[] {
  const node = realNode(device);
  return mountinfo.split("\n").flatMap((line) => {
    const [before, after] = line.split(" - ");
    const source = after?.split(" ")[1];
    const target = before?.split(" ")[4];
    const same = source !== undefined && (source === device || (source.startsWith("/dev/") && realNode(source) === node));
    return same && target ? [target.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))] : [];
  });
}

function realNode(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
