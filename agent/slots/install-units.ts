import { join } from "node:path";
import { chrootBindCommands } from "../disk/mounts.ts";
import { mount, write, type Entry } from "../steps/entry.ts";
import type { InstallContext } from "./install-context.ts";
import { installSlotUnits, SLOT_UNIT_FILES } from "./slot-units.ts";

/**
 * The agent's units in every slot (units/, compiled into the agent): committing the slot once the
 * boot is healthy, the health check that ships with it, and what a failed check does; their enable
 * links are made directly (slot-units.ts), the same way the migration does for slot A.
 */
export function unitEntries(ictx: InstallContext): Entry[] {
  const { slotTarget } = ictx.setup;
  return [
    write(join(slotTarget, "etc/systemd/system"), `${SLOT_UNIT_FILES.map((unit) => unit.file).join(", ")} and their enable links`, () => installSlotUnits(slotTarget)),
    // carry-over-config's systemctl (enabling systemd-networkd) runs in the slot
    ...chrootBindCommands(slotTarget).map((argv) => mount(argv)),
  ];
}
