import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { renderGrubenv } from "../bootloader/grubenv.ts";
import { modeAndOwnerOf, syncDirectory, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { RescueError, SlotError } from "../errors/errors.ts";
import { readSlotGrubenv } from "../slots/grubenv-store.ts";
import { RESCUE_TASK_VARIABLE } from "../slots/slot-env.ts";
import { GRUBENV_SIZE, grubenvPath } from "../slots/slot-paths.ts";

/**
 * Work that must finish where nothing of the VG is mounted, before GRUB reads a slot again
 * (docs/RESCUE.md "Rescue tasks"): a merge into a mounted LV, a factory reset. Two records on the
 * shared boot partition: the task file (what to do) and grubenv's VA_RESCUE (GRUB boots the
 * rescue entry while it is set). Requested file first, then VA_RESCUE; cleared VA_RESCUE first,
 * then the file: at every power cut either nothing is pending, or the rescue system boots and
 * finds the task (a task file without VA_RESCUE is a finished task whose file was not yet removed).
 */
export const RESCUE_TASK_FILE = "va-agent/rescue-task.json";
/** The grubenv variable the slot menu reads: non-empty boots the rescue entry (defined with the slot state GRUB reads). */
export { RESCUE_TASK_VARIABLE };

export type RescueTask =
  | { task: "merge"; snapshot: string; requestedAt: string }
  | { task: "factory-reset"; wipeData: boolean; requestedAt: string };

export type RescueTaskName = RescueTask["task"];

export function rescueTaskPath(bootMount: string): string {
  return join(bootMount, RESCUE_TASK_FILE);
}

/**
 * The task the rescue system must finish, or null: none when VA_RESCUE is unset or empty, or when
 * the box has no grubenv (GRUB then reads no task either). A task file without VA_RESCUE is done
 * (its removal was cut short). A flag without its file, or naming another task than the file, is
 * refused: nothing says for sure what to finish.
 */
export function pendingRescueTask(bootMount: string): RescueTask | null {
  const vars = grubenvVarsIfAny(bootMount);
  const flagged = vars?.get(RESCUE_TASK_VARIABLE) ?? "";
  if (!flagged) return null;
  const file = rescueTaskPath(bootMount);
  const text = readIfExists(file);
  if (text === null) {
    throw new RescueError(
      `grubenv says a rescue task "${flagged}" is pending, but ${file} is missing`,
      `Nothing says what to finish. Check the snapshots (\`va-agent snapshot list\`) and the slots (\`va-agent slot status\`), then clear the flag: \`va-agent rescue clear-task\`.`,
      { flagged },
    );
  }
  const task = parseRescueTask(text, file);
  if (task.task !== flagged) {
    throw new RescueError(
      `grubenv says a rescue task "${flagged}" is pending, but ${file} holds a ${task.task} task`,
      "Nothing was done: one of the two records is not what va-agent wrote. Check `va-agent snapshot list` and `va-agent slot status`, then request the task again or clear it with `va-agent rescue clear-task`.",
      { flagged, file, task: task.task },
    );
  }
  return task;
}

/**
 * Records the task, then raises VA_RESCUE: from the second write on, every boot goes to the rescue
 * system until it is cleared. Refused before either write when the box has no slot grubenv, the
 * block is damaged, or it has no room for the flag.
 */
export function requestRescueTask(bootMount: string, task: RescueTask): void {
  const file = rescueTaskPath(bootMount);
  const block = grubenvWith(bootMount, readSlotGrubenv(bootMount).vars, task.task);
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomically(file, `${JSON.stringify({ format: 1, ...task }, null, 2)}\n`, modeAndOwnerOf(file, 0o644));
  writeGrubenvBlock(bootMount, block);
}

/** The task finished: VA_RESCUE first (the slots boot again), then the file. Run again after a cut, it completes the clearing. */
export function clearRescueTask(bootMount: string): void {
  const { vars } = readSlotGrubenv(bootMount);
  if (vars.has(RESCUE_TASK_VARIABLE)) writeGrubenvBlock(bootMount, grubenvWith(bootMount, vars, null));
  rmSync(rescueTaskPath(bootMount), { force: true });
  syncDirectory(dirname(rescueTaskPath(bootMount)));
}

export function parseRescueTask(text: string, file = RESCUE_TASK_FILE): RescueTask {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw damaged(file, `not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw damaged(file, "not a JSON object");
  const doc = parsed as Record<string, unknown>;
  const requestedAt = typeof doc.requestedAt === "string" ? doc.requestedAt : "";
  if (doc.format !== 1) throw damaged(file, `format ${JSON.stringify(doc.format)}, this agent reads format 1`);
  if (doc.task === "merge" && typeof doc.snapshot === "string" && doc.snapshot) return { task: "merge", snapshot: doc.snapshot, requestedAt };
  if (doc.task === "factory-reset" && typeof doc.wipeData === "boolean") return { task: "factory-reset", wipeData: doc.wipeData, requestedAt };
  throw damaged(file, `task ${JSON.stringify(doc.task)} with these fields is not one this agent knows (merge with snapshot, factory-reset with wipeData)`);
}

function damaged(file: string, problem: string): RescueError {
  return new RescueError(`${file} cannot be read: ${problem}`, "Nothing was changed. Check `va-agent snapshot list` and `va-agent slot status`, then clear it with `va-agent rescue clear-task`.", { file });
}

/** The block's variables, or null when the box has no grubenv; a damaged block is refused (readSlotGrubenv). */
function grubenvVarsIfAny(bootMount: string): Map<string, string> | null {
  try {
    return readSlotGrubenv(bootMount).vars;
  } catch (error) {
    if (error instanceof SlotError && error.details.refusal === "no-slot-setup") return null;
    throw error;
  }
}

/** The whole block with VA_RESCUE set (or removed: null), the other variables kept (the slot state is not touched). */
function grubenvWith(bootMount: string, vars: ReadonlyMap<string, string>, value: string | null): string {
  const next = new Map(vars);
  if (value === null) next.delete(RESCUE_TASK_VARIABLE);
  else next.set(RESCUE_TASK_VARIABLE, value);
  try {
    return renderGrubenv(next, GRUBENV_SIZE);
  } catch {
    throw new RescueError(
      `${grubenvPath(bootMount)} has no room for ${RESCUE_TASK_VARIABLE}=${value}: its variables fill the ${GRUBENV_SIZE}-byte block`,
      `Nothing was written. Remove a variable that is not the agent's (\`grub-editenv ${grubenvPath(bootMount)} list\`, then \`grub-editenv ${grubenvPath(bootMount)} unset NAME\`) and run the command again.`,
      { grubenv: grubenvPath(bootMount) },
    );
  }
}

/** One whole-block rename. */
function writeGrubenvBlock(bootMount: string, block: string): void {
  const path = grubenvPath(bootMount);
  writeFileAtomically(path, Buffer.from(block, "latin1"), modeAndOwnerOf(path, 0o644));
}

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
