import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderGrubenv } from "../../agent/bootloader/grubenv.ts";
import { logicalVolumeDevice } from "../../agent/plan/plan.ts";
import { grubLvmIdDevice, RESCUE_ENTRY_ID, renderSlotBootMenu, type SlotBootMenuConfig, slotEntryId } from "../../agent/slots/boot-menu.ts";
import { type BootChoice, bootDecision, RESCUE_TASK_VARIABLE, type SlotName, slotEnvFromVars } from "../../agent/slots/slot-env.ts";
import { bootUnderGrubEmu, decideUnderGrubEmu, type GrubenvState, requireGrubTools } from "./fixtures/grub-emu.ts";

/**
 * The grub.cfg that picks the slot, run for real under grub-emu (fixtures/grub-emu.ts): for every
 * grubenv state below, GRUB's choice ($default and its `va-boot:` line) and the grubenv it saved
 * must be what bootDecision(slotEnvFromVars(vars), tries) says. VA_RESCUE (a pending rescue task)
 * is crossed with fewer slot states than the slot variables with each other: it overrides them all.
 *
 * Known differences left out of the matrix (GRUB's blanks are space, tab, CR and LF only): a vertical
 * tab, form feed or 0xA0 byte separating ORDER's names or leading an X_TRY value is a separator or
 * blank for slotEnvFromVars (JavaScript's \s and parseInt) but not for GRUB. Neither the agent nor
 * GRUB writes such values.
 */
const MISSING = Symbol("missing");
const GARBAGE = Symbol("garbage");
type Value = string | typeof MISSING | typeof GARBAGE;

const ORDERS = ["A B", "B A", "A", "B", ""];
/** ORDER values besides the usual ones: duplicates, blanks, unknown names, lower case, one word. */
const ODD_ORDERS = ["B A A", "B\tA", " B  A ", "C", "A,B", "b a", "BA", "C B"];
const OK_GARBAGE = ["x", "01", " 1", "1 ", "true", "", "yes"];
/** Garbage as GRUB or a person could leave it; slotEnvFromVars reads parseInt's leading digits ("2x" is 2, "1e3" 1, "0x10" 0). */
const TRY_GARBAGE = ["x", "-1", "2x", " 007", "+1", "1e3", "0x10", "99999999999999999999", "", "-0", "1.9", "+", "010", "\t2"];
/** VA_RESCUE set: empty (no task), the agent's two tasks, garbage (any non-empty value is a task). */
const RESCUE_VALUES: Value[] = ["", "merge", "factory-reset", GARBAGE];
/**
 * Values both sides read as a pending task, printed as they are (GRUB expands no variable or quote
 * inside a value). No backslash (GRUB reads it as an escape in the block) and no tab (its terminal
 * prints spaces): neither the agent nor GRUB writes those.
 */
const RESCUE_GARBAGE = ["x", " ", "MERGE", "0", "merge factory-reset", "$ORDER", "'; reboot", '"', "merge "];

function tryValues(tries: number): Value[] {
  return [...Array.from({ length: tries + 1 }, (_, n) => String(n)), MISSING, GARBAGE];
}
const OK_VALUES: Value[] = ["0", "1", MISSING, GARBAGE];

/** The grubenv variables of one state; garbage takes the next of its list, so every kind appears. */
function stateVars(order: Value, okA: Value, tryA: Value, okB: Value, tryB: Value, index: number): Map<string, string> {
  const vars = new Map<string, string>();
  const put = (name: string, value: Value, garbage: string[], salt: number) => {
    if (value === MISSING) return;
    vars.set(name, value === GARBAGE ? garbage[(index + salt) % garbage.length]! : value);
  };
  put("ORDER", order, ODD_ORDERS, 0);
  put("A_OK", okA, OK_GARBAGE, 1);
  put("A_TRY", tryA, TRY_GARBAGE, 2);
  put("B_OK", okB, OK_GARBAGE, 3);
  put("B_TRY", tryB, TRY_GARBAGE, 5);
  return vars;
}

/** `vars` with VA_RESCUE set to `value` (garbage: the next of RESCUE_GARBAGE). */
function withRescue(vars: ReadonlyMap<string, string>, value: Value, index: number): Map<string, string> {
  const rescue = value === GARBAGE ? RESCUE_GARBAGE[index % RESCUE_GARBAGE.length]! : value;
  return rescue === MISSING ? new Map(vars) : new Map([...vars, [RESCUE_TASK_VARIABLE, rescue]]);
}

function product(orders: Value[], oks: Value[], triesA: Value[], triesB: Value[] = triesA, oksB: Value[] = oks): Map<string, string>[] {
  const states: Map<string, string>[] = [];
  for (const order of orders) for (const okA of oks) for (const okB of oksB) for (const tryA of triesA) for (const tryB of triesB) states.push(stateVars(order, okA, tryA, okB, tryB, states.length));
  return states;
}

/**
 * Each VA_RESCUE value over slot states that boot A, B or rescue without it (48 each): a task wins,
 * with no try counted; an empty one is no task. And a block holding only the flag.
 */
function rescueStates(tries: number): GrubenvState[] {
  const slots = product(["A B", "B A", ""], ["1", "0"], ["0", String(tries)], ["0", MISSING]);
  return [...RESCUE_VALUES.flatMap((value) => slots.map((vars, i) => withRescue(vars, value, i))), new Map([[RESCUE_TASK_VARIABLE, "merge"]])];
}

/** Every state of the brief for `tries` (VA_RESCUE unset); no ORDER and the odd ones against good and bad slots; no grubenv file, an empty block; the rescue states. */
function allStates(tries: number): GrubenvState[] {
  return [
    ...product(ORDERS, OK_VALUES, tryValues(tries)),
    ...product([MISSING, ...ODD_ORDERS], ["1", "0"], ["0", String(tries)]),
    undefined,
    new Map(),
    new Map([["saved_entry", "other"], ["next_entry", "x"]]),
    ...rescueStates(tries),
  ];
}

/** For tries = 9 (17 280 states in full): every count of one slot against a few of the other, both ways round. */
function sampledStates(tries: number): GrubenvState[] {
  const all = tryValues(tries);
  const few: Value[] = ["0", String(tries - 1), String(tries), MISSING];
  return [
    ...product(["A B", "B A", ""], ["1", GARBAGE], all, few, ["1", "0"]),
    ...product(["A B", "B A", "B"], ["0", "1"], few, all, ["1", GARBAGE]),
    ...rescueStates(tries),
  ];
}

function config(tries: number): SlotBootMenuConfig {
  return {
    tries,
    menuTimeoutSeconds: 0,
    // grub-emu's disks: the slots are hd1 and hd2 there (fixtures/grub-emu.ts); on a box grubLvmIdDevice(…).
    slots: {
      A: { grubDevice: "hd1", linuxRoot: "/dev/mapper/VA-root", label: "Slot A: product 2.1 (it's good)" },
      B: { grubDevice: "hd2", linuxRoot: "/dev/mapper/VA-back", label: "Slot B: product 2.0" },
    },
    rescue: { kernel: "/va-rescue/linux", initrd: "/va-rescue/initrd.img", cmdline: "console=ttyS0,115200 rd.break=pre-mount quiet" },
  };
}

function sorted(vars: ReadonlyMap<string, string> | undefined): Record<string, string> | undefined {
  return vars && Object.fromEntries([...vars].sort(([a], [b]) => a.localeCompare(b)));
}

function bootLine(choice: BootChoice, tries: number): string {
  if (choice.boot !== "rescue") return `va-boot: slot ${choice.boot} try ${choice.tryNumber} of ${tries}`;
  return choice.rescueTask === null ? "va-boot: no slot qualifies, booting rescue" : `va-boot: rescue task ${choice.rescueTask} pending, booting rescue`;
}

function expected(state: GrubenvState, tries: number) {
  const decision = bootDecision(slotEnvFromVars(state ?? new Map()), tries);
  const { choice } = decision;
  const after = state && new Map(state);
  if (choice.boot !== "rescue") after?.set(`${choice.boot}_TRY`, String(choice.tryNumber));
  return {
    defaultEntry: choice.boot === "rescue" ? RESCUE_ENTRY_ID : slotEntryId(choice.boot),
    bootLines: [bootLine(choice, tries)],
    after: sorted(after),
    slotEnvAfter: state && decision.after,
  };
}

async function expectGrubDecidesAsBootDecision(tries: number, states: GrubenvState[]): Promise<void> {
  requireGrubTools();
  const started = performance.now();
  const decisions = await decideUnderGrubEmu(renderSlotBootMenu(config(tries)), states);
  const wrong = states.flatMap((state, i) => {
    const want = expected(state, tries);
    const got = decisions[i]!;
    const actual = { defaultEntry: got.defaultEntry, bootLines: got.bootLines, after: sorted(got.after), slotEnvAfter: got.after && slotEnvFromVars(got.after) };
    return JSON.stringify(actual) === JSON.stringify(want) ? [] : [{ state: sorted(state), want, actual }];
  });
  console.log(`slot boot menu, tries=${tries}: ${states.length} grubenv states under grub-emu in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  expect(wrong.slice(0, 5)).toEqual([]);
  // Every outcome occurred: each slot at each try number, no slot qualifying, each kind of rescue task.
  const outcomes = new Set(decisions.map((d) => d.bootLines.join()));
  expect([...outcomes].filter((line) => !line.includes("rescue task")).length).toBe(2 * tries + 1);
  const taskLines = ["merge", "factory-reset", ...RESCUE_GARBAGE].map((task) => `va-boot: rescue task ${task} pending, booting rescue`);
  expect(taskLines.filter((line) => !outcomes.has(line))).toEqual([]);
  // And the task won over a slot that would have booted without it.
  const overridden = states.filter((state) => slotEnvFromVars(state ?? new Map()).rescueTask !== null && bootDecision({ ...slotEnvFromVars(state!), rescueTask: null }, tries).choice.boot !== "rescue");
  expect(overridden.length).toBeGreaterThan(0);
}

describe("helpers", () => {
  test("device-mapper names double the dashes inside VG and LV names", () => {
    expect(logicalVolumeDevice("VA", "root")).toBe("/dev/mapper/VA-root");
    expect(logicalVolumeDevice("my-vg", "back-1")).toBe("/dev/mapper/my--vg-back--1");
  });

  test("GRUB's lvmid device takes LVM UUIDs with their dashes, nothing else", () => {
    const vg = "Yc1Cz0-eRdY-4f1V-mQ2c-Hk8t-Jw3P-9sXq1a";
    const lv = "p0Lq8Z-3Dmf-Kk2s-Xc9v-Bn4m-Lq7w-2ErTy6";
    expect(grubLvmIdDevice(vg, lv)).toBe(`lvmid/${vg}/${lv}`);
    expect(() => grubLvmIdDevice("VA", lv)).toThrow(/not an LVM UUID/);
    expect(() => grubLvmIdDevice(vg, `${lv})`)).toThrow(/not an LVM UUID/);
  });

  test("tries outside 1..9 and device names GRUB would parse are refused", () => {
    expect(() => renderSlotBootMenu({ ...config(3), tries: 0 })).toThrow(/slots.tries/);
    expect(() => renderSlotBootMenu({ ...config(3), tries: 10 })).toThrow(/slots.tries/);
    expect(() => renderSlotBootMenu({ ...config(3), tries: 2.5 })).toThrow(/slots.tries/);
    const bad = config(3);
    bad.slots.B = { ...bad.slots.B, grubDevice: "hd2) ; reboot" };
    expect(() => renderSlotBootMenu(bad)).toThrow(/not a GRUB device name/);
    expect(() => renderSlotBootMenu({ ...config(3), rescue: { ...config(3).rescue, kernel: "va-rescue/linux" } })).toThrow(/plain absolute path/);
  });

  test("the try count is a chain of string comparisons, one per count below tries", () => {
    const script = renderSlotBootMenu(config(4));
    expect([...script.matchAll(/elif \[ "\$va_digits" = "(\d)" \]; then set va_next=(\d)/g)].map((m) => `${m[1]}->${m[2]}`)).toEqual(["0->1", "1->2", "2->3", "3->4"]);
    expect(script).toContain('load_env --file "$prefix/grubenv" ORDER A_OK A_TRY B_OK B_TRY VA_RESCUE');
    expect(script).toContain("set fallback=2");
  });
});

describe("grub-script-check", () => {
  test("the rendered grub.cfg parses, for 1, 3 and 9 tries and LVM device names", () => {
    requireGrubTools();
    const dir = mkdtempSync(join(tmpdir(), "va-slot-menu-syntax-"));
    const lvm = grubLvmIdDevice("Yc1Cz0-eRdY-4f1V-mQ2c-Hk8t-Jw3P-9sXq1a", "p0Lq8Z-3Dmf-Kk2s-Xc9v-Bn4m-Lq7w-2ErTy6");
    for (const tries of [1, 3, 9]) {
      const cfg = config(tries);
      cfg.slots.A.grubDevice = lvm;
      cfg.menuTimeoutSeconds = 5;
      const path = join(dir, `grub-${tries}.cfg`);
      writeFileSync(path, renderSlotBootMenu(cfg));
      const check = Bun.spawnSync(["grub-script-check", path], { stdout: "pipe", stderr: "pipe" });
      expect({ tries, exit: check.exitCode, stderr: check.stderr.toString() }).toEqual({ tries, exit: 0, stderr: "" });
    }
  });
});

describe("grub-emu runs the grub.cfg: GRUB decides as bootDecision", () => {
  test("tries = 3: ORDER × A_OK × B_OK × A_TRY × B_TRY, every value of the brief; VA_RESCUE × a few of them", async () => {
    await expectGrubDecidesAsBootDecision(3, allStates(3));
  }, 90_000);

  test("tries = 1: the single-try case of RAUC", async () => {
    await expectGrubDecidesAsBootDecision(1, allStates(1));
  }, 90_000);

  test("tries = 9: every count of each slot, the longest chain", async () => {
    await expectGrubDecidesAsBootDecision(9, sampledStates(9));
  }, 90_000);
});

const SLOT_A_FILES = {
  "boot/vmlinuz-6.12.0-1-amd64": "kernel A",
  "boot/initrd.img-6.12.0-1-amd64": "initrd A",
  // Debian's symlinks at the slot's root (relative), which GRUB follows.
  vmlinuz: { symlink: "boot/vmlinuz-6.12.0-1-amd64" },
  "initrd.img": { symlink: "boot/initrd.img-6.12.0-1-amd64" },
  "etc/va-agent/slot-boot.env": renderGrubenv(new Map([["va_cmdline", "console=ttyS0,115200 net.ifnames=0"]]), 1024),
};
// An EL slot where the agent made the links itself (absolute), and no slot-boot.env.
const SLOT_B_FILES = {
  "boot/vmlinuz-5.14.0-427.el9.x86_64": "kernel B",
  "boot/initramfs-5.14.0-427.el9.x86_64.img": "initrd B",
  vmlinuz: { symlink: "/boot/vmlinuz-5.14.0-427.el9.x86_64" },
  "initrd.img": { symlink: "/boot/initramfs-5.14.0-427.el9.x86_64.img" },
};
const BOOT_FILES = { "va-rescue/linux": "tiny kernel", "va-rescue/initrd.img": "tiny initrd" };

function grubenv(entries: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(entries));
}

async function boot(state: GrubenvState, slots: { A?: Record<string, unknown>; B?: Record<string, unknown> } = {}) {
  requireGrubTools();
  return bootUnderGrubEmu(renderSlotBootMenu(config(3)), {
    grubenv: state,
    bootFiles: BOOT_FILES,
    slotA: (slots.A ?? SLOT_A_FILES) as typeof SLOT_A_FILES,
    slotB: (slots.B ?? SLOT_B_FILES) as typeof SLOT_B_FILES,
  });
}

const slotArgs = (slot: SlotName, dev: string, root: string, extra: string[]) => [`(${dev})/vmlinuz`, `root=${root}`, "ro", `va.slot=${slot}`, "panic=10", ...extra];

describe("grub-emu boots the chosen entry", () => {
  test("slot A: its kernel through the slot's symlink, the slot's va_cmdline, the try saved", async () => {
    const run = await boot(grubenv({ ORDER: "A B", A_OK: "1", A_TRY: "0", B_OK: "1", B_TRY: "0" }));
    expect(run.bootLines).toEqual(["va-boot: slot A try 1 of 3"]);
    expect(run.booted).toEqual(["Slot A: product 2.1 (it's good)"]);
    expect(run.linux).toEqual(slotArgs("A", "hd1", "/dev/mapper/VA-root", ["console=ttyS0,115200", "net.ifnames=0"]));
    expect(run.initrd).toBe("(hd1)/initrd.img");
    expect(run.waitedForKey).toBe(false);
    expect(sorted(run.after)).toEqual({ A_OK: "1", A_TRY: "1", B_OK: "1", B_TRY: "0", ORDER: "A B" });
  }, 30_000);

  test("slot B (absolute symlinks, no slot-boot.env): no extra arguments", async () => {
    const run = await boot(grubenv({ ORDER: "B A", A_OK: "1", A_TRY: "0", B_OK: "1", B_TRY: "2" }));
    expect(run.bootLines).toEqual(["va-boot: slot B try 3 of 3"]);
    expect(run.linux).toEqual(slotArgs("B", "hd2", "/dev/mapper/VA-back", []));
    expect(run.initrd).toBe("(hd2)/initrd.img");
    // A missing slot-boot.env prints no error: GRUB would wait for a key up to 10 s before booting.
    expect(run.waitedForKey).toBe(false);
    expect(run.after?.get("B_TRY")).toBe("3");
  }, 30_000);

  test("no slot qualifies: Rescue, the tiny system in rescue mode, the grubenv untouched", async () => {
    const state = grubenv({ ORDER: "A B", A_OK: "1", A_TRY: "3", B_OK: "0", B_TRY: "0" });
    const run = await boot(state);
    expect(run.bootLines).toEqual(["va-boot: no slot qualifies, booting rescue"]);
    expect(run.booted).toEqual(["Rescue"]);
    expect(run.linux).toEqual(["(hd0)/va-rescue/linux", "console=ttyS0,115200", "rd.break=pre-mount", "quiet", "va.mode=rescue"]);
    expect(run.initrd).toBe("(hd0)/va-rescue/initrd.img");
    expect(run.waitedForKey).toBe(false);
    expect(sorted(run.after)).toEqual(sorted(state));
  }, 30_000);

  test("a rescue task pending: Rescue in rescue mode though slot A is good, no try counted", async () => {
    const state = grubenv({ ORDER: "A B", A_OK: "1", A_TRY: "0", B_OK: "1", B_TRY: "0", [RESCUE_TASK_VARIABLE]: "merge" });
    const run = await boot(state);
    expect(run.bootLines).toEqual(["va-boot: rescue task merge pending, booting rescue"]);
    expect(run.booted).toEqual(["Rescue"]);
    expect(run.linux).toEqual(["(hd0)/va-rescue/linux", "console=ttyS0,115200", "rd.break=pre-mount", "quiet", "va.mode=rescue"]);
    expect(run.waitedForKey).toBe(false);
    expect(sorted(run.after)).toEqual(sorted(state));
  }, 30_000);

  test("no grubenv at all: Rescue, and no grubenv is created", async () => {
    const run = await boot(undefined);
    expect(run.bootLines).toEqual(["va-boot: no slot qualifies, booting rescue"]);
    expect(run.booted).toEqual(["Rescue"]);
    // load_env's "file not found" at the top of grub.cfg costs no wait; inside an entry it would.
    expect(run.waitedForKey).toBe(false);
    expect(run.after).toBeUndefined();
  }, 30_000);

  test("the chosen slot's kernel is missing: its try is counted, then GRUB falls back to Rescue", async () => {
    const { vmlinuz: _gone, ...withoutKernel } = SLOT_A_FILES;
    const run = await boot(grubenv({ ORDER: "A B", A_OK: "1", A_TRY: "1", B_OK: "1" }), { A: withoutKernel });
    expect(run.bootLines).toEqual(["va-boot: slot A try 2 of 3"]);
    expect(run.missingKernels).toEqual(["(hd1)/vmlinuz"]);
    expect(run.booted).toEqual(["Slot A: product 2.1 (it's good)", "Rescue"]);
    expect(run.linux?.[0]).toBe("(hd0)/va-rescue/linux");
    // On a box `linux` prints "file not found", GRUB waits up to 10 s for a key, 2.5 s "Falling back", then Rescue.
    expect(run.after?.get("A_TRY")).toBe("2");
  }, 30_000);

  test("a try GRUB cannot save (the block has no room for B_TRY): Rescue, never the slot uncounted", async () => {
    // 1024 bytes: header, the slot variables, a filler leaving fewer free bytes than "B_TRY=1\n".
    const base = grubenv({ ORDER: "B A", A_OK: "0", B_OK: "1" });
    const used = renderGrubenv(base, 1024).replace(/#+$/, "").length;
    const full = new Map([...base, ["filler", "f".repeat(1024 - used - "filler=\n".length - 4)]]);
    const run = await boot(full);
    expect(run.bootLines).toEqual(["va-boot: cannot save the try of slot B, booting rescue"]);
    expect(run.booted).toEqual(["Rescue"]);
    expect(run.waitedForKey).toBe(false);
    expect(sorted(run.after)).toEqual(sorted(full));
  }, 30_000);
});
