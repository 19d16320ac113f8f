import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { chrootBindCommands } from "../disk/mounts.ts";
import { copyFileAtomically } from "../disk/write-file-atomically.ts";
import { command, mount, write, type Entry } from "../steps/entry.ts";
import type { InstallContext } from "./install-context.ts";

/**
 * The agent's units in every slot (units/ of the repository): committing the slot once the boot is
 * healthy, the health check that ships with it, and what a failed check does. An install copies the
 * running slot's (the migration installed them), so the new slot commits itself the same way.
 */
export const SLOT_UNITS = ["va-slot-commit.service", "va-health-running.service", "va-slot-failed.service"] as const;
export const UNIT_DIR = "etc/systemd/system";

export function unitEntries(ictx: InstallContext): Entry[] {
  const { root, slotTarget } = ictx.setup;
  return [
    ...SLOT_UNITS.map((unit) =>
      write(join(slotTarget, UNIT_DIR, unit), `copied from the running system's /${UNIT_DIR}/${unit}`, () => {
        const destination = join(slotTarget, UNIT_DIR, unit);
        mkdirSync(dirname(destination), { recursive: true });
        copyFileAtomically(join(root, UNIT_DIR, unit), destination, { mode: 0o644 });
      }),
    ),
    // the slot's own systemctl makes the [Install] links; carry-over-config's systemctl needs them too
    ...chrootBindCommands(slotTarget).map((argv) => mount(argv)),
    command(["chroot", slotTarget, "systemctl", "enable", ...SLOT_UNITS]),
  ];
}
