import commitUnit from "../../units/va-slot-commit.service" with { type: "text" };
import healthUnit from "../../units/va-health-running.service" with { type: "text" };
import failedUnit from "../../units/va-slot-failed.service" with { type: "text" };
import watchdogDropIn from "../../units/va-watchdog.conf" with { type: "text" };
import snapshotWatchUnit from "../../units/va-snapshot-watch.service" with { type: "text" };
import snapshotWatchTimer from "../../units/va-snapshot-watch.timer" with { type: "text" };
import factoryPointUnit from "../../units/va-factory-point.service" with { type: "text" };
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomically } from "../disk/write-file-atomically.ts";
/**
 * The files of units/ that every slot gets (install writes them into the slot it installs, the
 * migration into slot A), where they go, and the link `systemctl enable` would make from their
 * [Install] section: made directly, as the slot is not running when they are written.
 */
export interface SlotUnitFile {
  /** Name in the repository's units/ directory. */
  file: string;
  /** Its text, compiled into the agent (the slot is written from the tiny system or the other slot). */
  text: string;
  /** Absolute path inside the slot's root. */
  installTo: string;
  /** The enable link inside the slot's root (it points at installTo); none for a unit only started by OnFailure=. */
  enableLink?: string;
}

const SYSTEM = "/etc/systemd/system";

export const SLOT_UNIT_FILES: readonly SlotUnitFile[] = [
  { file: "va-slot-commit.service", text: commitUnit, installTo: `${SYSTEM}/va-slot-commit.service`, enableLink: `${SYSTEM}/multi-user.target.wants/va-slot-commit.service` },
  { file: "va-health-running.service", text: healthUnit, installTo: `${SYSTEM}/va-health-running.service`, enableLink: `${SYSTEM}/boot-complete.target.requires/va-health-running.service` },
  { file: "va-slot-failed.service", text: failedUnit, installTo: `${SYSTEM}/va-slot-failed.service` },
  { file: "va-watchdog.conf", text: watchdogDropIn, installTo: "/etc/systemd/system.conf.d/va-watchdog.conf" },
  { file: "va-snapshot-watch.service", text: snapshotWatchUnit, installTo: `${SYSTEM}/va-snapshot-watch.service` },
  { file: "va-snapshot-watch.timer", text: snapshotWatchTimer, installTo: `${SYSTEM}/va-snapshot-watch.timer`, enableLink: `${SYSTEM}/timers.target.wants/va-snapshot-watch.timer` },
  { file: "va-factory-point.service", text: factoryPointUnit, installTo: `${SYSTEM}/va-factory-point.service`, enableLink: `${SYSTEM}/multi-user.target.wants/va-factory-point.service` },
];

/** Where the agent itself lives in a slot: the units and the operator run it from there. */
export const SLOT_AGENT_PATH = "/usr/sbin/va-agent";

/** Writes the units and their enable links into the slot whose root is mounted at `root`. */
export function installSlotUnits(root: string): void {
  for (const unit of SLOT_UNIT_FILES) {
    const path = join(root, unit.installTo);
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomically(path, unit.text, { mode: 0o644 });
    if (unit.enableLink) {
      const link = join(root, unit.enableLink);
      mkdirSync(dirname(link), { recursive: true });
      rmSync(link, { force: true });
      symlinkSync(unit.installTo, link);
    }
  }
}
