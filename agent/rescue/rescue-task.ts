import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseGrubenv, renderGrubenv } from "../bootloader/grubenv.ts";
import { modeAndOwnerOf, syncDirectory, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { RescueError } from "../errors/errors.ts";
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
/** The grubenv variable the slot menu reads: non-empty boots the rescue entry. */
export const RESCUE_TASK_VARIABLE = "VA_RESCUE";

export type RescueTask =
  | { task: "merge"; snapshot: string; requestedAt: string }
  | { task: "factory-reset"; wipeData: boolean; requestedAt: string };

export type RescueTaskName = RescueTask["task"];

export function rescueTaskPath(bootMount: string): string {
  return join(bootMount, RESCUE_TASK_FILE);
}

/** The task the rescue system must finish, or null. A task file without VA_RESCUE is done (its removal was cut short). */
export function pendingRescueTask(bootMount: string): RescueTask | null {
  const vars = grubenvVars(bootMount);
  const flagged = vars.get(RESCUE_TASK_VARIABLE) ?? "";
  const text = readIfExists(rescueTaskPath(bootMount));
  if (!flagged) return null;
  if (text === null) {
    throw new RescueError(
      `grubenv says a rescue task "${flagged}" is pending, but ${rescueTaskPath(bootMount)} is missing`,
      `Nothing says what to finish. Check the snapshots (\`va-agent snapshot list\`) and the slots (\`va-agent slot status\`), then clear the flag: \`va-agent rescue clear-task\`.`,
      { flagged },
    );
  }
  return parseRescueTask(text, rescueTaskPath(bootMount));
}

/** Records the task, then raises VA_RESCUE: from the second write on, every boot goes to the rescue system until it is cleared. */
export function requestRescueTask(bootMount: string, task: RescueTask): void {
  const file = rescueTaskPath(bootMount);
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomically(file, `${JSON.stringify({ format: 1, ...task }, null, 2)}\n`, modeAndOwnerOf(file, 0o644));
  writeGrubenvVar(bootMount, task.task);
}

/** The task finished: VA_RESCUE first (the slots boot again), then the file. */
export function clearRescueTask(bootMount: string): void {
  writeGrubenvVar(bootMount, null);
  rmSync(rescueTaskPath(bootMount), { force: true });
  syncDirectory(dirname(rescueTaskPath(bootMount)));
}

export function parseRescueTask(text: string, file = RESCUE_TASK_FILE): RescueTask {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw damaged(file, `not JSON: ${(error as Error).message}`);
  }
  const requestedAt = typeof doc.requestedAt === "string" ? doc.requestedAt : "";
  if (doc.format !== 1) throw damaged(file, `format ${JSON.stringify(doc.format)}, this agent reads format 1`);
  if (doc.task === "merge" && typeof doc.snapshot === "string" && doc.snapshot) return { task: "merge", snapshot: doc.snapshot, requestedAt };
  if (doc.task === "factory-reset" && typeof doc.wipeData === "boolean") return { task: "factory-reset", wipeData: doc.wipeData, requestedAt };
  throw damaged(file, `task ${JSON.stringify(doc.task)} with these fields is not one this agent knows (merge with snapshot, factory-reset with wipeData)`);
}

function damaged(file: string, problem: string): RescueError {
  return new RescueError(`${file} cannot be read: ${problem}`, "Nothing was changed. Check `va-agent snapshot list` and `va-agent slot status`, then clear it with `va-agent rescue clear-task`.", { file });
}

function grubenvVars(bootMount: string): Map<string, string> {
  const text = readIfExists(grubenvPath(bootMount), "latin1");
  return text === null ? new Map() : parseGrubenv(text);
}

/** One whole-block rename, the other variables kept (the slot state is not touched). */
function writeGrubenvVar(bootMount: string, value: string | null): void {
  const path = grubenvPath(bootMount);
  const vars = grubenvVars(bootMount);
  if (value === null) vars.delete(RESCUE_TASK_VARIABLE);
  else vars.set(RESCUE_TASK_VARIABLE, value);
  writeFileAtomically(path, Buffer.from(renderGrubenv(vars, GRUBENV_SIZE), "latin1"), modeAndOwnerOf(path, 0o644));
}

function readIfExists(path: string, encoding: BufferEncoding = "utf8"): string | null {
  try {
    return readFileSync(path, encoding);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
