import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseGrubenv, renderGrubenv } from "../bootloader/grubenv.ts";
import { GRUBENV_SIZE, slotBootEnvPath } from "./slot-paths.ts";
import { parseShellVariables } from "../carry-over/shell-variables.ts";

/**
 * A slot's own kernel arguments (console=ttyS0,115200 …), which the agent's grub.cfg reads with
 * load_env from the slot it boots and appends: a GRUB environment block file in the slot.
 */


/** va_cmdline of the running slot's file; undefined when it has none (then the new root's GRUB_CMDLINE_LINUX says it). */
export function runningSlotCmdline(root: string): string | undefined {
  const path = slotBootEnvPath(root);
  if (!existsSync(path)) return undefined;
  return parseGrubenv(readFileSync(path, "latin1")).get("va_cmdline") ?? "";
}

/** What grub.cfg sets itself for every slot: root=, ro, va.slot=, panic=. */
const SET_BY_BOOT_MENU = /^(root=|va\.slot=|panic=|ro$|rw$)/;

/** The distribution's GRUB_CMDLINE_LINUX in the new root's /etc/default/grub, without what the boot menu sets itself. */
export function defaultGrubCmdline(slotRoot: string): string {
  const path = join(slotRoot, "etc/default/grub");
  if (!existsSync(path)) return "";
  const value = parseShellVariables(readFileSync(path, "utf8")).get("GRUB_CMDLINE_LINUX") ?? "";
  return value.split(/\s+/).filter((arg) => arg !== "" && !SET_BY_BOOT_MENU.test(arg)).join(" ");
}

export function slotBootEnv(vaCmdline: string): string {
  return renderGrubenv(new Map([["va_cmdline", vaCmdline.replaceAll("\n", " ")]]), GRUBENV_SIZE);
}
