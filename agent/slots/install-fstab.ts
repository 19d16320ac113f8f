import { InstallError } from "../errors/errors.ts";
import { isPseudoFilesystem, parseFstab } from "../disk/fstab.ts";
import type { SlotName } from "./slot-env.ts";
import { SHARED_BOOT_MOUNT } from "./slot-paths.ts";

/** What a slot's fstab never takes from another system's: its own root and a /boot (the kernel lives in the slot). */
const SLOT_OWN = new Set(["/", "/boot", SHARED_BOOT_MOUNT]);
const HEADER = "# va-agent install:";

/** The running system's fstab as an install carries it: the shared boot partition's line, and every line that is not the slot's own. */
export interface RunningFstab {
  /** The line mounting the shared boot partition at /boot/va, by UUID. */
  sharedBoot: string;
  /** Everything else that is not root or boot (/data, swap, the mounts carried at the migration), comments kept, as written. */
  carried: string[];
}

export function runningFstab(text: string): RunningFstab {
  const lines = text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith(HEADER));
  const mountpointOf = (line: string) => (line.trim().startsWith("#") ? undefined : parseFstab(line)[0]?.mountpoint);
  const boot = lines.filter((line) => mountpointOf(line) === SHARED_BOOT_MOUNT);
  const spec = boot.length === 1 ? parseFstab(boot[0]!)[0]!.spec : undefined;
  if (!spec?.startsWith("UUID=")) {
    throw new InstallError(
      boot.length === 0 ? `the running /etc/fstab has no line for the shared boot partition at ${SHARED_BOOT_MOUNT}` : `the running /etc/fstab mounts ${SHARED_BOOT_MOUNT} ${boot.length > 1 ? `${boot.length} times` : `by ${spec}, not by UUID`}`,
      `The new slot mounts the shared boot partition by its filesystem UUID (a device name changes when another disk appears): fix the ${SHARED_BOOT_MOUNT} line of /etc/fstab (UUID=… ${SHARED_BOOT_MOUNT} ext4 defaults 0 2), then install again; nothing was changed.`,
      { lines: boot },
    );
  }
  const carried = lines.filter((line) => !SLOT_OWN.has(mountpointOf(line) ?? ""));
  return { sharedBoot: boot[0]!, carried };
}

export interface SlotFstab {
  slot: SlotName;
  /** /dev/mapper/<vg>-<lv> of the slot. */
  device: string;
  fstype: "ext4" | "xfs";
  running: RunningFstab;
  /** The payload's own fstab: only its kernel filesystems (tmpfs /tmp…) are kept, what else it says is of the build host. */
  payload: string;
}

/** The slot's /etc/fstab: its root by device-mapper name, the shared boot partition, the running system's other lines, the payload's kernel filesystems. */
export function slotFstab(fstab: SlotFstab): string {
  const carried = fstab.running.carried;
  const taken = new Set([...SLOT_OWN, ...carried.flatMap((line) => parseFstab(line).map((entry) => entry.mountpoint))]);
  const pseudo = fstab.payload
    .split("\n")
    .filter((line) => {
      const entry = parseFstab(line)[0];
      return entry !== undefined && isPseudoFilesystem(entry.type) && !taken.has(entry.mountpoint);
    });
  return `${[
    `${HEADER} slot ${fstab.slot}'s root, the shared boot partition, and the running system's other filesystems`,
    [fstab.device, "/", fstab.fstype, "defaults", "0", fstab.fstype === "xfs" ? "0" : "1"].join("\t"),
    fstab.running.sharedBoot,
    ...carried,
    ...(pseudo.length > 0 ? [`${HEADER} the payload's kernel filesystems`, ...pseudo] : []),
  ].join("\n")}\n`;
}
