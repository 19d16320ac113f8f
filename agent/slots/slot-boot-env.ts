import { renderGrubenv } from "../bootloader/grubenv.ts";
import { parseShellVariables } from "../carry-over/shell-variables.ts";
import { GRUBENV_SIZE } from "./slot-paths.ts";


/**
 * The arguments the distribution's own GRUB configuration would give this root's kernel (console,
 * vendor options), so the slot boots as its distribution meant; root= and the slot's own arguments
 * come from the agent's grub.cfg.
 */
export function kernelArgsOfDefaultGrub(defaultGrub: string | null): string {
  if (defaultGrub === null) return "";
  const vars = parseShellVariables(defaultGrub);
  return [vars.get("GRUB_CMDLINE_LINUX"), vars.get("GRUB_CMDLINE_LINUX_DEFAULT")]
    .filter((value): value is string => Boolean(value?.trim()))
    .join(" ")
    .trim();
}

/** The slot-boot.env block (slot-paths.ts): the kernel arguments of this slot, which the agent's grub.cfg reads with load_env. */
export function slotBootEnv(kernelArgs: string): string {
  if (/[\n\\]/.test(kernelArgs)) throw new Error(`kernel arguments for a GRUB environment block must be one line without backslashes: ${JSON.stringify(kernelArgs)}`);
  return renderGrubenv(new Map([["va_cmdline", kernelArgs]]), GRUBENV_SIZE);
}
