import { SlotError } from "../errors/errors.ts";
import type { SlotName } from "./slot-env.ts";

/**
 * The slot Linux runs from: the grub.cfg the agent owns puts `va.slot=A|B` on each slot's kernel
 * command line (and `va.mode=rescue` on the rescue entry's).
 */
export function bootedSlotIn(cmdline: string): SlotName {
  const slot = bootedSlotOrNull(cmdline);
  if (slot) return slot;
  const value = argValue(cmdline, "va.slot");
  if (value !== undefined) {
    throw new SlotError(`the kernel command line has va.slot=${value}, which is neither A nor B`, "Boot through the slot menu the migration installed (its entries set va.slot=A or va.slot=B), or name the slot: `va-agent slot mark-good A`.", { refusal: "not-booted-from-slot", cmdline });
  }
  throw new SlotError(
    `not booted through the slot menu: the kernel command line has no va.slot= (${cmdline || "empty"})`,
    argValue(cmdline, "va.mode") === "rescue"
      ? "This is the rescue system: no slot is running. `va-agent slot status --boot-dir DIR` shows the slots; `va-agent slot activate SLOT --boot-dir DIR` picks the one to boot next."
      : "The slot menu (grub/grub.cfg on the shared boot partition) was not what booted this kernel. Name the slot explicitly (`va-agent slot mark-good A`), or reboot through the slot menu.",
    { refusal: "not-booted-from-slot", cmdline },
  );
}

export function bootedSlotOrNull(cmdline: string): SlotName | null {
  const value = argValue(cmdline, "va.slot");
  return value === "A" || value === "B" ? value : null;
}

/** The rescue entry (`va.mode=rescue`) is running: no slot qualified, or the operator chose it. */
export function bootedRescue(cmdline: string): boolean {
  return argValue(cmdline, "va.mode") === "rescue";
}

/** The last occurrence wins, as the kernel's own parameter parsing does. */
export function argValue(cmdline: string, name: string): string | undefined {
  let value: string | undefined;
  for (const arg of cmdline.trim().split(/\s+/)) if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
  return value;
}
