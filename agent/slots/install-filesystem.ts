import { mountedTargets } from "../disk/mounts.ts";
import { command, mount, type Entry } from "../steps/entry.ts";
import { mkfsCommand } from "../steps/make-filesystems.ts";
import type { InstallContext } from "./install-context.ts";

/** ext4 allows 16 characters, xfs 12: "va-slot-B" fits both. */
export function slotLabel(ictx: InstallContext): string {
  return `va-slot-${ictx.facts.slots.target}`;
}

/** A fresh filesystem of the image's type on the inactive slot's LV, mounted for the extraction. */
export function filesystemEntries(ictx: InstallContext): Entry[] {
  const { device, lv } = ictx.facts;
  const target = ictx.setup.slotTarget;
  const type = ictx.facts.head.manifest.filesystem;
  return [
    command(["umount", "--recursive", target], { skipIf: { says: `${target} is not mounted (an interrupted install leaves it mounted)`, holds: () => !mountedTargets().has(target) } }),
    command(["lvm", "lvchange", "--activate", "y", `${ictx.facts.layout.vg}/${lv}`]),
    command(["wipefs", "--all", device]),
    command(mkfsCommand({ device, type, label: slotLabel(ictx), uuidFromFstab: false })),
    mount(["mount", "-t", type, device, target]),
  ];
}

export function unmountEntries(ictx: InstallContext): Entry[] {
  return [command(["umount", "--recursive", ictx.setup.slotTarget]), command(["sync"])];
}
