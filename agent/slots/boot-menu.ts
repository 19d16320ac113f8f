import { LayoutError, ManifestError } from "../errors/errors.ts";
import { RESCUE_TASK_VARIABLE, SLOT_NAMES, SLOT_VARIABLES, type SlotName } from "./slot-env.ts";
import { SLOT_BOOT_ENV } from "./slot-paths.ts";

/**
 * The agent's own grub.cfg on the shared boot partition (/grub/grub.cfg): it picks the slot to boot
 * from the grubenv beside it, exactly as bootDecision in slot-env.ts does, counts the try in the
 * grubenv before the kernel starts, and boots the rescue system when a rescue task is pending or no
 * slot qualifies.
 * The distribution never regenerates this file (its update-grub writes the slot's own
 * /boot/grub/grub.cfg inside the LV, which nothing boots). docs/SLOTS.md "Boot selection (grub.cfg)".
 */
export interface SlotBootMenuConfig {
  /** Boots a slot may start before it must have been marked good (manifest `slots.tries`), 1..9. */
  tries: number;
  /** Seconds the menu waits on the console before booting the chosen entry (0: at once). */
  menuTimeoutSeconds: number;
  slots: Record<SlotName, SlotBootTarget>;
  /** The tiny system kept as rescue: absolute paths on the shared boot partition (the device of $root when grub.cfg starts). */
  rescue: { kernel: string; initrd: string; cmdline: string };
}

export interface SlotBootTarget {
  /** GRUB device of the slot's filesystem without parentheses: grubLvmIdDevice(vg uuid, lv uuid). */
  grubDevice: string;
  /** Linux root device of the slot: logicalVolumeDevice(vg, lv) (plan.ts), e.g. /dev/mapper/VA-root. */
  linuxRoot: string;
  /** Menu title of the slot's entry (release, product…). */
  label: string;
}

export const MAX_TRIES = 9;
export const RESCUE_ENTRY_ID = "va-rescue";
/** The grubenv beside grub.cfg; GRUB's $prefix is the /grub directory grub-install embedded in core.img. */
export const GRUBENV_PATH = "$prefix/grubenv";
/** What the script reads from the grubenv; nothing else of the block can change its decision. */
const READ_VARIABLES = [...SLOT_VARIABLES, RESCUE_TASK_VARIABLE];

export function slotEntryId(slot: SlotName): string {
  return `va-slot-${slot}`;
}

/** An LVM UUID as `vgs -o vg_uuid` / `lvs -o lv_uuid` print it (and GRUB's lvm module names it): 32 characters in 6-4-4-4-4-4-6 groups. */
const LVM_UUID = /^[A-Za-z0-9]{6}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{6}$/;

/** GRUB's name of an LV by UUIDs (never a BIOS disk number, never a VG name another disk could share): lvmid/<vg uuid>/<lv uuid>. */
export function grubLvmIdDevice(vgUuid: string, lvUuid: string): string {
  for (const uuid of [vgUuid, lvUuid]) {
    if (!LVM_UUID.test(uuid)) {
      throw new LayoutError(`"${uuid}" is not an LVM UUID`, "pass the vg_uuid / lv_uuid exactly as `vgs -o vg_uuid` and `lvs -o lv_uuid` print them (with dashes).");
    }
  }
  return `lvmid/${vgUuid}/${lvUuid}`;
}

/** Characters that need no quoting in a GRUB word. */
const PLAIN_WORD = /^[A-Za-z0-9_.,:=+@%/-]+$/;

/** One GRUB script word: as is when plain, else single-quoted ('\'' for a quote, as grub-mkconfig does). */
function word(text: string): string {
  return PLAIN_WORD.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/** Kernel arguments as GRUB words, each quoted on its own so GRUB passes them through unchanged. */
function args(cmdline: string): string {
  return cmdline.split(/\s+/).filter(Boolean).map(word).join(" ");
}

function checkConfig(config: SlotBootMenuConfig): void {
  if (!Number.isInteger(config.tries) || config.tries < 1 || config.tries > MAX_TRIES) {
    throw new ManifestError(`slots.tries is ${config.tries}; the boot menu counts 1 to ${MAX_TRIES} tries`, `next: set slots.tries in the manifest to a whole number from 1 to ${MAX_TRIES} (default 3).`);
  }
  if (!Number.isInteger(config.menuTimeoutSeconds) || config.menuTimeoutSeconds < 0) {
    throw new LayoutError(`boot menu timeout ${config.menuTimeoutSeconds} is not a whole number of seconds`, "pass 0 or more seconds.");
  }
  for (const path of [config.rescue.kernel, config.rescue.initrd]) {
    if (!/^\/[A-Za-z0-9_.,:=+@%/-]+$/.test(path)) {
      throw new LayoutError(`rescue file "${path}" is not a plain absolute path on the boot partition`, "pass the path from the partition's root, e.g. /va-rescue/linux.");
    }
  }
  for (const slot of SLOT_NAMES) {
    const { grubDevice, linuxRoot } = config.slots[slot];
    if (!/^[A-Za-z0-9_.,/-]+$/.test(grubDevice)) {
      throw new LayoutError(`slot ${slot}: "${grubDevice}" is not a GRUB device name`, "pass grubLvmIdDevice(vg uuid, lv uuid), without parentheses.");
    }
    if (!PLAIN_WORD.test(linuxRoot)) {
      throw new LayoutError(`slot ${slot}: root device "${linuxRoot}" cannot be a kernel argument`, "pass logicalVolumeDevice(vg, lv) (plan.ts).");
    }
  }
}

/**
 * How many tries a X_TRY value counts, as slotEnvFromVars reads it: parseInt's leading decimal
 * digits (after blanks, which are space, tab, CR and LF for GRUB, and a "+"), anything else 0 tries. GRUB has no arithmetic, and `[ -lt ]`
 * would read "010" as octal and print an error on garbage, so the value is matched by a regexp
 * and a chain of string comparisons, one per count below `tries`, gives the incremented value.
 * Sets va_next to the counted try (1..tries), or to "spent" when the slot has used its tries.
 */
function countFunction(tries: number): string[] {
  const chain = Array.from({ length: tries }, (_, n) => `  elif [ "$va_digits" = "${n}" ]; then set va_next=${n + 1}`);
  return [
    "function va_count_try {",
    "  set va_digits=",
    "  regexp --set=1:va_digits '^[[:space:]]*[+]?0*([0-9]+)' \"$1\"",
    '  if [ -z "$va_digits" ]; then set va_next=1',
    ...chain,
    "  else set va_next=spent",
    "  fi",
    "}",
  ];
}

/** The slot's turn in the ORDER loop: boots it if good with tries left, its try saved first. */
function slotChoice(slot: SlotName, tries: number): string[] {
  return [
    `  if [ "$va_slot" = "${slot}" -a "$${slot}_OK" = "1" ]; then`,
    `    va_count_try "$${slot}_TRY"`,
    '    if [ "$va_next" != "spent" ]; then',
    `      set ${slot}_TRY="$va_next"`,
    "      # The try counts before the kernel starts: a kernel that hangs or panics has used it.",
    `      if save_env --file "${GRUBENV_PATH}" ${slot}_TRY; then`,
    `        set default=${slotEntryId(slot)}`,
    `        echo "va-boot: slot ${slot} try $va_next of ${tries}"`,
    "      else",
    "        # Never boot a slot uncounted: it could fail for ever. The rescue system repairs the grubenv.",
    `        echo "va-boot: cannot save the try of slot ${slot}, booting rescue"`,
    "      fi",
    "      set va_chosen=1",
    "      break",
    "    fi",
    "  fi",
  ];
}

function slotEntry(slot: SlotName, target: SlotBootTarget): string[] {
  const dev = `(${target.grubDevice})`;
  return [
    `menuentry ${word(target.label)} --id ${slotEntryId(slot)} {`,
    "  set va_cmdline=",
    "  # Tested first: an error printed inside an entry makes GRUB wait for a key (up to 10 s) before booting.",
    `  if [ -f ${dev}${SLOT_BOOT_ENV} ]; then load_env --file ${dev}${SLOT_BOOT_ENV} va_cmdline; fi`,
    `  linux ${dev}/vmlinuz root=${target.linuxRoot} ro va.slot=${slot} panic=10 $va_cmdline`,
    `  initrd ${dev}/initrd.img`,
    "}",
  ];
}

export function renderSlotBootMenu(config: SlotBootMenuConfig): string {
  checkConfig(config);
  const { tries, rescue } = config;
  return [
    "# va-agent: boot selection between the system slots A and B (agent/slots/boot-menu.ts, docs/SLOTS.md).",
    "# Written by the agent on the shared boot partition; the distribution's update-grub never touches it.",
    "#",
    "# The state is RAUC's GRUB contract in the grubenv beside this file: ORDER (slots in the order they",
    "# are tried), X_OK (1 = the slot may boot), X_TRY (boots started since it was activated or marked good).",
    `# RAUC keeps X_TRY a single flag (one try); here it is a count up to slots.tries (${tries}), so a slot`,
    "# survives a power cut during its first boot. The first slot in ORDER with X_OK=1 and X_TRY below the",
    "# limit boots, its try saved first; when none qualifies the rescue system boots. VA_RESCUE (the agent's",
    "# own) names a pending rescue task: while it is set the rescue system boots, whatever the slots say.",
    "insmod part_gpt",
    "insmod lvm",
    "insmod ext2",
    "insmod xfs",
    "insmod loadenv",
    "insmod test",
    "insmod regexp",
    "insmod echo",
    "if serial --unit=0 --speed=115200; then",
    "  terminal_input console serial",
    "  terminal_output console serial",
    "fi",
    "# The shared boot partition: core.img sets $root to the device of $prefix. Named once here because a",
    "# menu entry's `set` is not local: a slot entry that failed would leave its variables to the fallback.",
    'set va_boot_dev="$root"',
    `set timeout=${config.menuTimeoutSeconds}`,
    "set timeout_style=menu",
    "",
    ...countFunction(tries),
    "",
    "# A variable the grubenv lacks stays unset: not good, 0 tries, ORDER \"A B\", no rescue task (slotEnvFromVars).",
    ...READ_VARIABLES.map((name) => `unset ${name}`),
    `load_env --file "${GRUBENV_PATH}" ${READ_VARIABLES.join(" ")}`,
    "",
    "# Only the slot names count in ORDER; without one, A then B.",
    "set va_order=",
    "for va_slot in $ORDER; do",
    ...SLOT_NAMES.map((slot) => `  if [ "$va_slot" = "${slot}" ]; then set va_order="$va_order ${slot}"; fi`),
    "done",
    'if [ -z "$va_order" ]; then set va_order="A B"; fi',
    "",
    `set default=${RESCUE_ENTRY_ID}`,
    "# A slot entry GRUB cannot load (kernel missing, filesystem damaged) falls back to Rescue. Upstream GRUB",
    "# reads fallback as an entry number only (ids there are a Red Hat patch): Rescue is the entry after the slots.",
    `set fallback=${SLOT_NAMES.length}`,
    "# A pending rescue task (a merge into a slot, a factory reset) finishes before any slot boots: no try is counted.",
    `if [ -n "$${RESCUE_TASK_VARIABLE}" ]; then`,
    `  echo "va-boot: rescue task $${RESCUE_TASK_VARIABLE} pending, booting rescue"`,
    "else",
    ...[
      "set va_chosen=0",
      "for va_slot in $va_order; do",
      ...SLOT_NAMES.flatMap((slot) => slotChoice(slot, tries)),
      "done",
      'if [ "$va_chosen" = "0" ]; then echo "va-boot: no slot qualifies, booting rescue"; fi',
    ].map((line) => `  ${line}`),
    "fi",
    "",
    "# While a task is pending the slots are not even offered: a slot picked by hand would boot a kernel GRUB",
    "# reads from an LV whose merge has not finished (GRUB knows nothing of a snapshot-merge).",
    `if [ -z "$${RESCUE_TASK_VARIABLE}" ]; then`,
    ...SLOT_NAMES.flatMap((slot) => slotEntry(slot, config.slots[slot])).map((line) => `  ${line}`),
    "fi",
    "",
    "# The tiny system (never upgraded) on the shared boot partition.",
    `menuentry Rescue --id ${RESCUE_ENTRY_ID} {`,
    `  linux ${[`($va_boot_dev)${rescue.kernel}`, args(rescue.cmdline), "va.mode=rescue"].filter(Boolean).join(" ")}`,
    `  initrd ($va_boot_dev)${rescue.initrd}`,
    "}",
    "",
  ].join("\n");
}
