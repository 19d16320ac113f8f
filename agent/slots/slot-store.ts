import { readFileSync } from "node:fs";
import { parseGrubenv } from "../bootloader/grubenv.ts";
import { readSlotGrubenv, writeSlotGrubenv } from "./grubenv-store.ts";
import type { SlotEnv } from "./slot-env.ts";
import { readSlotMetadata, writeSlotMetadata, type SlotMetadata } from "./slot-metadata.ts";
import { grubenvPath } from "./slot-paths.ts";

/** Both halves of the slot state: what GRUB acts on (grubenv) and what the agent acts on and explains (slots.json). */
export interface SlotState {
  env: SlotEnv;
  metadata: SlotMetadata;
}

/** One file replaced as a whole by one rename: the unit of a state change, and of a power cut. */
export type SlotWrite = { file: "grubenv"; env: SlotEnv } | { file: "metadata"; metadata: SlotMetadata };

export interface SlotStore {
  read(): SlotState;
  write(change: SlotWrite): void;
}

/** The slot state on the shared boot partition mounted at `bootMount`. */
export function fileSlotStore(bootMount: string): SlotStore {
  return {
    read: () => ({ env: readSlotGrubenv(bootMount).env, metadata: readSlotMetadata(bootMount) }),
    write(change) {
      if (change.file === "metadata") writeSlotMetadata(bootMount, change.metadata);
      else writeSlotGrubenv(bootMount, change.env, currentVars(bootMount));
    },
  };
}

/** The block's other variables as they are right now (none when the block is created). */
function currentVars(bootMount: string): Map<string, string> {
  try {
    return parseGrubenv(readFileSync(grubenvPath(bootMount), "latin1"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw error;
  }
}
