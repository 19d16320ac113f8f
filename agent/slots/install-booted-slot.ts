import { InstallError } from "../errors/errors.ts";
import { argValue } from "./booted-slot.ts";
import { otherSlot, type SlotName } from "./slot-env.ts";

/** The slot the running system booted (the kernel command line's `va.slot=`, which the agent's grub.cfg sets) and the one an install writes. */
export interface SlotPair {
  booted: SlotName;
  target: SlotName;
}

export function slotsFromCmdline(cmdline: string): SlotPair {
  const booted = argValue(cmdline, "va.slot");
  if (booted !== "A" && booted !== "B") {
    throw new InstallError(
      booted === undefined ? "the running system was not booted from a slot: no va.slot= on the kernel command line" : `the kernel command line says va.slot=${booted}: not a slot (A or B)`,
      "Boot the system through the agent's boot menu (it sets va.slot=A or B), then install again; nothing was changed.",
      { cmdline },
    );
  }
  return { booted, target: otherSlot(booted) };
}
