import { readFileSync } from "node:fs";
import { parseGrubenv, renderGrubenv } from "../bootloader/grubenv.ts";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { SlotError } from "../errors/errors.ts";
import { slotEnvFromVars, varsWithSlotEnv, type SlotEnv } from "./slot-env.ts";
import { GRUBENV_SIZE, grubenvPath, SHARED_BOOT_MOUNT } from "./slot-paths.ts";

const HEADER = "# GRUB Environment Block";

/** The slot env and every variable of the block (next_entry, saved_entry…, VA_RESCUE are kept on write). */
export interface StoredGrubenv {
  env: SlotEnv;
  vars: Map<string, string>;
}

/** The slot env of the shared boot partition mounted at `bootMount`. */
export function readSlotGrubenv(bootMount: string): StoredGrubenv {
  const path = grubenvPath(bootMount);
  let text: string;
  try {
    text = readFileSync(path, "latin1");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new SlotError(
      `this box has no slot boot setup: ${path} does not exist`,
      bootMount === SHARED_BOOT_MOUNT
        ? `The system slots are set up by the migration (the shared boot partition mounted at ${SHARED_BOOT_MOUNT}). Check that it is mounted (\`findmnt ${SHARED_BOOT_MOUNT}\`, \`mount ${SHARED_BOOT_MOUNT}\`); a box not migrated by va-agent has no slots.`
        : `Give --boot-dir the mount point of the shared boot partition (the one holding grub/grubenv).`,
      { refusal: "no-slot-setup", grubenv: path },
    );
  }
  // The agent only ever renames a whole block over it, so a block without its header was not written by us or GRUB.
  if (!text.startsWith(HEADER)) {
    throw new SlotError(
      `${path} is not a GRUB environment block (it does not start with "${HEADER}")`,
      `Something other than GRUB or va-agent wrote it. Restore it with \`grub-editenv ${path} create\`, then \`va-agent slot activate SLOT\` for the slot to boot (GRUB boots the rescue entry until then).`,
      { refusal: "grubenv-corrupt", grubenv: path },
    );
  }
  const vars = parseGrubenv(text);
  return { env: slotEnvFromVars(vars), vars };
}

/**
 * Writes the slot env as one whole 1024-byte block: rendered with the other variables kept, written
 * to a temp file in the same directory, fsynced, renamed over the block, the directory fsynced
 * (writeFileAtomically). One call = one rename = one state change: a power cut at any moment leaves
 * the old block or the new one on disk, never a mix or a short file. GRUB itself rewrites the
 * block in place (save_env overwrites the file's sectors); a fresh file of 1024 bytes is one block
 * on ext4, which it can do that to.
 */
export function writeSlotGrubenv(bootMount: string, env: SlotEnv, base: ReadonlyMap<string, string>): void {
  const path = grubenvPath(bootMount);
  const block = renderGrubenv(varsWithSlotEnv(base, env), GRUBENV_SIZE);
  writeFileAtomically(path, Buffer.from(block, "latin1"), modeAndOwnerOf(path, 0o644));
}
