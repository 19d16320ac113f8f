import { afterEach, describe, expect, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { parseGrubenv, renderGrubenv } from "../../agent/bootloader/grubenv.ts";
import { RescueError, SlotError } from "../../agent/errors/errors.ts";
import { clearRescueTask, parseRescueTask, pendingRescueTask, RESCUE_TASK_FILE, RESCUE_TASK_VARIABLE, requestRescueTask, rescueTaskPath, type RescueTask } from "../../agent/rescue/rescue-task.ts";
import { bootDecision, slotEnvFromVars } from "../../agent/slots/slot-env.ts";
import { grubenvPath } from "../../agent/slots/slot-paths.ts";
import { fileSlotStore } from "../../agent/slots/slot-store.ts";
import { bootDirWith, env, migratedBox, NOW, twoReleaseBox } from "./slot-fixture.ts";

/**
 * The rescue task's two records on a shared boot partition in a tmp dir: the task file, then
 * grubenv's VA_RESCUE; cleared the other way. A power cut is a failed rename or removal (bun's
 * spyOn on node:fs): the writes before it are on disk, the one it hit is not (a torn temp file at most).
 */
const MERGE: RescueTask = { task: "merge", snapshot: "before-upgrade", requestedAt: NOW };
const RESET: RescueTask = { task: "factory-reset", wipeData: false, requestedAt: NOW };
/** Variables of the block that are not the slot state: each call must keep them. */
const FOREIGN: Array<[string, string]> = [["saved_entry", "0"], ["next_entry", "Rescue"], ["vendor_flag", "x y"]];

const spies: Array<{ mockRestore(): void }> = [];
afterEach(() => spies.splice(0).forEach((spy) => spy.mockRestore()));

class PowerCut extends Error {}

/** The power goes before the (writes + 1)th rename or file removal (a temp file's cleanup is no write). Returns the writes seen. */
function powerCutAfter(writes: number): { seen: string[] } {
  const seen: string[] = [];
  const realRename = fs.renameSync;
  const realRm = fs.rmSync;
  const write = (what: string) => {
    if (seen.length === writes) throw new PowerCut(`power cut before ${what}`);
    seen.push(what);
  };
  spies.push(
    spyOn(fs, "renameSync").mockImplementation(((from: fs.PathLike, to: fs.PathLike) => {
      write(`rename ${String(to)}`);
      realRename(from, to);
    }) as typeof fs.renameSync),
    spyOn(fs, "rmSync").mockImplementation(((path: fs.PathLike, options?: fs.RmOptions) => {
      if (!String(path).endsWith(".va-tmp")) write(`remove ${String(path)}`);
      realRm(path, options);
    }) as typeof fs.rmSync),
  );
  return { seen };
}

function grubenvVars(dir: string): Map<string, string> {
  return parseGrubenv(fs.readFileSync(grubenvPath(dir), "latin1"));
}

/** What the next boot does with these files: GRUB's choice (bootDecision), and what the rescue system finds. */
function nextBoot(dir: string): string {
  const choice = bootDecision(slotEnvFromVars(grubenvVars(dir)), 3).choice;
  const task = pendingRescueTask(dir);
  if (choice.boot === "rescue") return task ? `rescue finds ${task.task}` : "rescue finds nothing";
  return task ? `slot ${choice.boot}, yet a task is pending` : `slot ${choice.boot}, nothing pending`;
}

/** Every file under the boot dir with its bytes: a refusal must leave them all as they were. */
function snapshot(dir: string): Record<string, string> {
  const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return Object.fromEntries(files.map((entry) => [join(entry.parentPath, entry.name).slice(dir.length), fs.readFileSync(join(entry.parentPath, entry.name), "latin1")]).sort());
}

describe("request and clear", () => {
  test("request: the task file (format 1), then VA_RESCUE=<task> in the whole 1024-byte block, every other variable kept", () => {
    const dir = bootDirWith(twoReleaseBox(), FOREIGN);
    const before = grubenvVars(dir);
    const { seen } = powerCutAfter(Number.POSITIVE_INFINITY);
    requestRescueTask(dir, MERGE);
    expect(seen).toEqual([`rename ${rescueTaskPath(dir)}`, `rename ${grubenvPath(dir)}`]);
    expect(JSON.parse(fs.readFileSync(join(dir, RESCUE_TASK_FILE), "utf8"))).toEqual({ format: 1, task: "merge", snapshot: "before-upgrade", requestedAt: NOW });
    expect(fs.readFileSync(grubenvPath(dir), "latin1").length).toBe(1024);
    expect(Object.fromEntries(grubenvVars(dir))).toEqual({ ...Object.fromEntries(before), [RESCUE_TASK_VARIABLE]: "merge" });
    expect(fs.statSync(grubenvPath(dir)).mode & 0o777).toBe(0o644);
    expect(pendingRescueTask(dir)).toEqual(MERGE);
    expect(nextBoot(dir)).toBe("rescue finds merge");
  });

  test("clear: VA_RESCUE first, then the file; the block as it was before the request", () => {
    const dir = bootDirWith(twoReleaseBox(), FOREIGN);
    const before = fs.readFileSync(grubenvPath(dir), "latin1");
    requestRescueTask(dir, RESET);
    const { seen } = powerCutAfter(Number.POSITIVE_INFINITY);
    clearRescueTask(dir);
    expect(seen).toEqual([`rename ${grubenvPath(dir)}`, `remove ${rescueTaskPath(dir)}`]);
    expect(fs.readFileSync(grubenvPath(dir), "latin1")).toBe(before);
    expect(fs.existsSync(rescueTaskPath(dir))).toBe(false);
    expect(fs.readdirSync(join(dir, "va-agent")).sort()).toEqual(["slots.json"]);
    expect(nextBoot(dir)).toBe("slot A, nothing pending");
  });

  test("clear with nothing pending writes no grubenv; the slot state changes in between are kept", () => {
    const dir = bootDirWith(migratedBox(), FOREIGN);
    requestRescueTask(dir, MERGE);
    // The slot commands keep the flag: they rewrite the block from what it holds now.
    fileSlotStore(dir).write({ file: "grubenv", env: env("A B", { A: [true, 0], B: [true, 0] }) });
    expect(grubenvVars(dir).get(RESCUE_TASK_VARIABLE)).toBe("merge");
    clearRescueTask(dir);
    expect(fileSlotStore(dir).read().env).toEqual(env("A B", { A: [true, 0], B: [true, 0] }));
    const { seen } = powerCutAfter(Number.POSITIVE_INFINITY);
    clearRescueTask(dir);
    expect(seen).toEqual([`remove ${rescueTaskPath(dir)}`]);
  });
});

describe("a power cut after each write", () => {
  const requestCuts = ["slot A, nothing pending", "slot A, nothing pending", "rescue finds merge"];
  test("request: nothing pending until VA_RESCUE is written, then the rescue system boots and finds the task", () => {
    const after = requestCuts.map((_, cut) => {
      const dir = bootDirWith(twoReleaseBox(), FOREIGN);
      powerCutAfter(cut);
      try {
        requestRescueTask(dir, MERGE);
      } catch (error) {
        if (!(error instanceof PowerCut)) throw error;
      }
      spies.splice(0).forEach((spy) => spy.mockRestore());
      return nextBoot(dir);
    });
    expect(after).toEqual(requestCuts);
  });

  const clearCuts = ["rescue finds factory-reset", "slot A, nothing pending", "slot A, nothing pending"];
  test("clear: the task stays pending until VA_RESCUE is gone; a leftover file is a finished task, removed by clearing again", () => {
    const after = clearCuts.map((_, cut) => {
      const dir = bootDirWith(twoReleaseBox(), FOREIGN);
      requestRescueTask(dir, RESET);
      powerCutAfter(cut);
      try {
        clearRescueTask(dir);
      } catch (error) {
        if (!(error instanceof PowerCut)) throw error;
      }
      spies.splice(0).forEach((spy) => spy.mockRestore());
      const state = nextBoot(dir);
      clearRescueTask(dir); // what the rescue system does when it runs again
      expect(fs.existsSync(rescueTaskPath(dir))).toBe(false);
      expect(nextBoot(dir)).toBe("slot A, nothing pending");
      return state;
    });
    expect(after).toEqual(clearCuts);
  });

  test("a cut inside the grubenv write (the temp file torn, never renamed) leaves the old block: nothing pending", () => {
    const dir = bootDirWith(twoReleaseBox(), FOREIGN);
    powerCutAfter(1);
    expect(() => requestRescueTask(dir, MERGE)).toThrow(PowerCut);
    spies.splice(0).forEach((spy) => spy.mockRestore());
    expect(fs.existsSync(join(dir, "grub/.grubenv.va-tmp"))).toBe(true);
    expect(nextBoot(dir)).toBe("slot A, nothing pending");
    requestRescueTask(dir, MERGE);
    expect(fs.readdirSync(join(dir, "grub"))).toEqual(["grubenv"]);
    expect(nextBoot(dir)).toBe("rescue finds merge");
  });
});

describe("refusals destroy nothing", () => {
  function refused(dir: string, action: () => unknown): Error {
    const before = snapshot(dir);
    let caught: unknown;
    try {
      action();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(snapshot(dir)).toEqual(before);
    return caught as Error;
  }

  test("request on a box without a slot grubenv, or with a damaged block: SlotError, no task file", () => {
    const none = fs.mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "va-rescue-none-"));
    const missing = refused(none, () => requestRescueTask(none, MERGE));
    expect(missing).toBeInstanceOf(SlotError);
    expect(missing.message).toContain("this box has no slot boot setup");
    const damaged = bootDirWith(twoReleaseBox());
    fs.writeFileSync(grubenvPath(damaged), "ORDER=A B\nA_OK=1\n");
    const error = refused(damaged, () => requestRescueTask(damaged, MERGE));
    expect(error).toBeInstanceOf(SlotError);
    expect(error.message).toContain("is not a GRUB environment block");
    expect(refused(damaged, () => clearRescueTask(damaged))).toBeInstanceOf(SlotError);
  });

  test("request into a block with no room for the flag: RescueError saying so, before the task file is written", () => {
    const dir = bootDirWith(twoReleaseBox());
    const used = fs.readFileSync(grubenvPath(dir), "latin1").replace(/#+$/, "").length;
    const vars = new Map([...grubenvVars(dir), ["filler", "f".repeat(1024 - used - "filler=\n".length - 4)]]);
    fs.writeFileSync(grubenvPath(dir), renderGrubenv(vars, 1024));
    const error = refused(dir, () => requestRescueTask(dir, RESET));
    expect(error).toBeInstanceOf(RescueError);
    expect(error.message).toBe(`${grubenvPath(dir)} has no room for VA_RESCUE=factory-reset: its variables fill the 1024-byte block`);
    expect((error as RescueError).hint).toContain("Nothing was written");
  });

  test("pending: the flag without its file, or naming another task than the file: RescueError", () => {
    const dir = bootDirWith(twoReleaseBox(), [[RESCUE_TASK_VARIABLE, "merge"]]);
    expect(refused(dir, () => pendingRescueTask(dir)).message).toBe(`grubenv says a rescue task "merge" is pending, but ${rescueTaskPath(dir)} is missing`);
    requestRescueTask(dir, RESET);
    fs.writeFileSync(grubenvPath(dir), renderGrubenv(new Map([...grubenvVars(dir), [RESCUE_TASK_VARIABLE, "merge"]]), 1024));
    const error = refused(dir, () => pendingRescueTask(dir));
    expect(error).toBeInstanceOf(RescueError);
    expect(error.message).toBe(`grubenv says a rescue task "merge" is pending, but ${rescueTaskPath(dir)} holds a factory-reset task`);
  });

  test("pending: a task file that is not a task this agent knows is refused, never guessed at", () => {
    const dir = bootDirWith(twoReleaseBox(), [[RESCUE_TASK_VARIABLE, "merge"]]);
    fs.mkdirSync(join(dir, "va-agent"), { recursive: true });
    const cases: Array<[string, string]> = [
      ["{", "not JSON"],
      ["null", "not a JSON object"],
      ['["merge"]', "not a JSON object"],
      ['{"format": 2, "task": "merge", "snapshot": "s"}', "format 2, this agent reads format 1"],
      ['{"format": 1, "task": "rollback"}', 'task "rollback"'],
      ['{"format": 1, "task": "merge", "snapshot": ""}', 'task "merge" with these fields'],
      ['{"format": 1, "task": "factory-reset", "wipeData": "yes"}', 'task "factory-reset" with these fields'],
    ];
    for (const [text, problem] of cases) {
      fs.writeFileSync(rescueTaskPath(dir), text);
      const error = refused(dir, () => pendingRescueTask(dir));
      expect({ text, isRescueError: error instanceof RescueError, message: error.message.includes(problem) }).toEqual({ text, isRescueError: true, message: true });
      expect(error.message).toStartWith(`${rescueTaskPath(dir)} cannot be read: `);
    }
  });
});

describe("what is not a pending task", () => {
  test("no grubenv at all, VA_RESCUE unset or empty, a file without the flag (a finished task)", () => {
    expect(pendingRescueTask(fs.mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "va-rescue-none-")))).toBeNull();
    const dir = bootDirWith(twoReleaseBox());
    expect(pendingRescueTask(dir)).toBeNull();
    fs.mkdirSync(join(dir, "va-agent"), { recursive: true });
    fs.writeFileSync(rescueTaskPath(dir), JSON.stringify({ format: 1, ...MERGE }));
    expect(pendingRescueTask(dir)).toBeNull();
    fs.writeFileSync(grubenvPath(dir), renderGrubenv(new Map([...grubenvVars(dir), [RESCUE_TASK_VARIABLE, ""]]), 1024));
    expect(pendingRescueTask(dir)).toBeNull();
    expect(nextBoot(dir)).toBe("slot A, nothing pending");
  });

  test("parseRescueTask reads both tasks as requestRescueTask writes them; requestedAt may be missing", () => {
    expect(parseRescueTask(JSON.stringify({ format: 1, ...MERGE }))).toEqual(MERGE);
    expect(parseRescueTask(JSON.stringify({ format: 1, ...RESET, wipeData: true }))).toEqual({ ...RESET, wipeData: true });
    expect(parseRescueTask('{"format": 1, "task": "merge", "snapshot": "s"}')).toEqual({ task: "merge", snapshot: "s", requestedAt: "" });
  });
});
