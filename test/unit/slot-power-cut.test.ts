import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { renderGrubenv } from "../../agent/bootloader/grubenv.ts";
import { activateChange, beginInstall, bootedByGrub, finishInstall, markBadChange, markGoodChange, rollbackChange } from "../../agent/slots/slot-actions.ts";
import { bootDecision, SLOT_NAMES, varsWithSlotEnv, type SlotName } from "../../agent/slots/slot-env.ts";
import { grubenvPath, slotsMetadataPath } from "../../agent/slots/slot-paths.ts";
import { slotStatus } from "../../agent/slots/slot-status.ts";
import { fileSlotStore, type SlotState, type SlotWrite } from "../../agent/slots/slot-store.ts";
import { bootDirWith, env, migratedBox, NOW, twoReleaseBox } from "./slot-fixture.ts";

/**
 * A power cut after every write. Each step reads the state from the files (as the next process
 * would) and returns its writes; the run stops after `cut` writes, and the files are then exactly
 * what k completed renames left. A cut inside a write is a torn temp file beside them (the rename
 * never happened): left there too.
 */
type Step = { name: string; writes(state: SlotState): SlotWrite[] };

const context = (booted: SlotName | null) => ({ booted, now: NOW });

function runUntilCut(start: SlotState, steps: Step[], cut: number): { dir: string; done: string[] } {
  const dir = bootDirWith(start);
  const store = fileSlotStore(dir);
  let written = 0;
  const done: string[] = [];
  for (const step of steps) {
    for (const write of step.writes(store.read())) {
      if (written === cut) {
        tearTempFile(dir, write);
        return { dir, done };
      }
      store.write(write);
      written++;
    }
    done.push(step.name);
  }
  return { dir, done };
}

function countWrites(start: SlotState, steps: Step[]): number {
  const store = fileSlotStore(bootDirWith(start));
  let count = 0;
  for (const step of steps) for (const write of step.writes(store.read())) store.write(write), count++;
  return count;
}

/** The first half of the temp file the interrupted write was filling (writeFileAtomically's name). */
function tearTempFile(dir: string, write: SlotWrite): void {
  const target = write.file === "grubenv" ? grubenvPath(dir) : slotsMetadataPath(dir);
  const full = write.file === "grubenv" ? renderGrubenv(varsWithSlotEnv(new Map(), write.env), 1024) : JSON.stringify(write.metadata);
  writeFileSync(join(dirname(target), `.${basename(target)}.va-tmp`), full.slice(0, full.length / 2));
}

/** What every cut must leave: both files parse, and GRUB boots a good, installed slot (rescue only when there is none). */
function bootAfterCut(dir: string): { boot: SlotName | "rescue"; violation: string | null } {
  const block = readFileSync(grubenvPath(dir), "latin1");
  if (block.length !== 1024) return { boot: "rescue", violation: `grubenv is ${block.length} bytes` };
  JSON.parse(readFileSync(slotsMetadataPath(dir), "utf8"));
  const state = fileSlotStore(dir).read();
  const choice = bootDecision(state.env, state.metadata.tries).choice;
  const goodSlots = SLOT_NAMES.filter((s) => state.env.ok[s] && state.env.tries[s] < state.metadata.tries && state.metadata.slots[s].state === "installed");
  if (choice.boot === "rescue") return { boot: "rescue", violation: goodSlots.length > 0 ? `rescue while slot ${goodSlots[0]} is good` : null };
  const record = state.metadata.slots[choice.boot];
  return { boot: choice.boot, violation: record.state === "installed" ? null : `GRUB boots slot ${choice.boot}, which is ${record.state}` };
}

function assertBootsAGoodSlot(dir: string, label: string): SlotName | "rescue" {
  const { boot, violation } = bootAfterCut(dir);
  expect(violation, label).toBeNull();
  return boot;
}

/** GRUB's own write at boot (the try counted before the kernel starts), then the booted slot's commit unit. */
function bootSteps(): { grubBoots: Step; commits: Step } {
  let booted: SlotName | null = null;
  return {
    grubBoots: {
      name: "GRUB counts a try and boots",
      writes(state) {
        const grub = bootedByGrub(state);
        booted = grub.booted;
        return [{ file: "grubenv", env: grub.after.env }];
      },
    },
    commits: { name: "the commit unit", writes: (state) => markGoodChange(state, context(booted)).writes },
  };
}

function cutEverywhere(name: string, start: SlotState, steps: Step[], neverRescue = true) {
  const total = countWrites(start, steps);
  test(`${name}: ${total} writes, a cut after each leaves both files whole and GRUB booting a good installed slot`, () => {
    for (let cut = 0; cut <= total; cut++) {
      const { dir, done } = runUntilCut(start, steps, cut);
      const label = `${name}, cut after write ${cut} (steps done: ${done.join(", ") || "none"})`;
      const booted = assertBootsAGoodSlot(dir, label);
      if (neverRescue) expect(booted, label).not.toBe("rescue");
      // the box comes back: GRUB boots, the commit unit runs; the state is consistent again
      if (booted !== "rescue") {
        const store = fileSlotStore(dir);
        store.write({ file: "grubenv", env: bootedByGrub(store.read()).after.env });
        for (const write of markGoodChange(store.read(), context(booted)).writes) store.write(write);
        expect(assertBootsAGoodSlot(dir, `${label}, then a boot and its commit`)).toBe(booted);
        expect(slotStatus(store.read(), booted).warnings, label).toEqual([]);
      }
    }
  });
}

describe("power cut between any two writes", () => {
  const install: Step[] = [
    { name: "install-start", writes: (s) => beginInstall(s, context("A"), "B").writes },
    { name: "install-done", writes: (s) => finishInstall(s, context("A"), "B", { product: "va-demo", release: "14.0" }).writes },
  ];
  const first = bootSteps();
  cutEverywhere("install B from A, first boot of B, its commit", migratedBox(), [...install, first.grubBoots, first.commits]);

  const panics = bootSteps();
  cutEverywhere("install B, B panics 3 times, GRUB falls back to A, A's commit marks B bad", migratedBox(), [...install, panics.grubBoots, panics.grubBoots, panics.grubBoots, panics.grubBoots, panics.commits]);

  cutEverywhere("reinstall over a good previous release", twoReleaseBox(), [
    { name: "install-start", writes: (s) => beginInstall(s, context("A"), "B").writes },
    { name: "install-done", writes: (s) => finishInstall(s, context("A"), "B", { product: "va-demo", release: "15.0" }).writes },
  ]);

  cutEverywhere("mark-good, a slot ahead out of tries", { env: env("B A", { A: [true, 1], B: [true, 3] }), metadata: twoReleaseBox().metadata }, [{ name: "mark-good", writes: (s) => markGoodChange(s, context("A")).writes }]);

  cutEverywhere("mark-bad of the booted slot (health check failed)", { env: env("B A", { A: [true, 0], B: [true, 1] }), metadata: twoReleaseBox().metadata }, [
    { name: "mark-bad", writes: (s) => markBadChange(s, context("B"), null, "health check failed").writes },
  ]);

  cutEverywhere("activate", twoReleaseBox(), [{ name: "activate B", writes: (s) => activateChange(s, "B").writes }]);

  cutEverywhere("rollback", twoReleaseBox(), [{ name: "rollback", writes: (s) => rollbackChange(s, context("A")).writes }]);

  cutEverywhere("the only good slot marked bad (rescue is then the right answer)", migratedBox(), [{ name: "mark-bad", writes: (s) => markBadChange(s, context("A")).writes }], false);

  test("uncut, the install sequence boots B and the commit keeps it; uncut, the panic sequence ends on A with B bad", () => {
    const boot = bootSteps();
    const installed = fileSlotStore(runUntilCut(migratedBox(), [...install, boot.grubBoots, boot.commits], Number.POSITIVE_INFINITY).dir).read();
    expect(installed.env).toEqual(env("B A", { A: [true, 0], B: [true, 0] }));
    expect(installed.metadata.slots.B).toMatchObject({ state: "installed", release: "14.0", committedAt: NOW });
    const panic = bootSteps();
    const fellBack = fileSlotStore(runUntilCut(migratedBox(), [...install, panic.grubBoots, panic.grubBoots, panic.grubBoots, panic.grubBoots, panic.commits], Number.POSITIVE_INFINITY).dir).read();
    expect(fellBack.env).toEqual(env("A B", { A: [true, 0], B: [false, 0] }));
    expect(fellBack.metadata.slots.B.badReason).toBe("did not come up in 3 tries");
  });

  test("the order of the writes is what makes it safe: finishInstall's two writes the other way round, cut between, boot a half-installed slot", () => {
    const reversed: Step = { name: "install-done, grubenv first", writes: (s) => [...finishInstall(s, context("A"), "B", { product: "va-demo", release: "14.0" }).writes].reverse() };
    const { dir } = runUntilCut(migratedBox(), [install[0]!, reversed], 3);
    expect(bootAfterCut(dir)).toEqual({ boot: "B", violation: "GRUB boots slot B, which is installing" });
    const beginReversed: Step = { name: "install-start, metadata first", writes: (s) => [...beginInstall(s, context("A"), "B").writes].reverse() };
    const cutBegin = runUntilCut(twoReleaseBox(), [{ name: "activate B", writes: (s) => activateChange(s, "B").writes }, beginReversed], 3);
    expect(bootAfterCut(cutBegin.dir).violation).toBe("GRUB boots slot B, which is installing");
  });
});
