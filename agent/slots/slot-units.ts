/**
 * The files of units/ that every slot gets (install writes them into the slot it installs, the
 * migration into slot A), where they go, and the link `systemctl enable` would make from their
 * [Install] section: made directly, as the slot is not running when they are written.
 */
export interface SlotUnitFile {
  /** Name in the repository's units/ directory. */
  file: string;
  /** Absolute path inside the slot's root. */
  installTo: string;
  /** The enable link inside the slot's root (it points at installTo); none for a unit only started by OnFailure=. */
  enableLink?: string;
}

const SYSTEM = "/etc/systemd/system";

export const SLOT_UNIT_FILES: readonly SlotUnitFile[] = [
  { file: "va-slot-commit.service", installTo: `${SYSTEM}/va-slot-commit.service`, enableLink: `${SYSTEM}/multi-user.target.wants/va-slot-commit.service` },
  { file: "va-health-running.service", installTo: `${SYSTEM}/va-health-running.service`, enableLink: `${SYSTEM}/boot-complete.target.requires/va-health-running.service` },
  { file: "va-slot-failed.service", installTo: `${SYSTEM}/va-slot-failed.service` },
  { file: "va-watchdog.conf", installTo: "/etc/systemd/system.conf.d/va-watchdog.conf" },
];
