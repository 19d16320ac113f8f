import { readFileSync } from "node:fs";
import { runningCmdline } from "../bootloader/resume-entry.ts";
import { UsageError } from "../errors/errors.ts";
import { isHelpRequest, parseSubcommandArgs, runSubcommand, stringOption, usageHint, type SubcommandSpec } from "./subcommand.ts";
import { createLog, type Log } from "../log/logger.ts";
import { ZxRunner, type Runner } from "../runner/runner.ts";
import { bootedRescue, bootedSlotIn, bootedSlotOrNull } from "../slots/booted-slot.ts";
import { assertHealthy, checkHealth } from "../slots/health-check.ts";
import { activateChange, applySlotChange, fallBackChange, markBadChange, markGoodChange, rollbackChange, type SlotChange } from "../slots/slot-actions.ts";
import { otherSlot, type SlotName } from "../slots/slot-env.ts";
import { SHARED_BOOT_MOUNT } from "../slots/slot-paths.ts";
import { pendingRescueTask } from "../rescue/rescue-task.ts";
import { describeContent, renderSlotStatus, slotStatus } from "../slots/slot-status.ts";
import { fileSlotStore, type SlotState, type SlotStore } from "../slots/slot-store.ts";

export const SLOT_HELP = `va-agent slot — the two system slots (A, B) on a box the migration set up

Usage:
  va-agent slot status [--json]                       booted slot, what boots next, each slot's release, good/bad, tries, commit time
  va-agent slot mark-good [SLOT] [--json]             the slot (default: the booted one) is good, tries reset; the commit unit runs this
  va-agent slot mark-bad [SLOT] [--reason TEXT] [--reboot] [--json]
                                                      GRUB stops booting the slot (default: the booted one)
  va-agent slot activate SLOT [--reboot] [--json]     the slot boots next, tries reset (refused for an empty or half-installed slot)
  va-agent slot rollback [--reboot] [--json]          the slot not running boots next (refused when it is empty, installing or bad)
  va-agent slot health-check [--json]                 the shipped health check: multi-user.target reached, no failed units
  va-agent slot fall-back [--reason TEXT] [--json]     a health check failed: mark the booted slot bad and reboot into the
                                                      other one when that one can boot; otherwise keep this slot (its try stays counted)

SLOT is A or B, or the slot's LV name (normally root = A, back = B).

Options:
  --boot-dir DIR   the shared boot partition's mount point (default ${SHARED_BOOT_MOUNT})
  --cmdline FILE   read the kernel command line (va.slot=) from FILE instead of /proc/cmdline
  --reason TEXT    mark-bad: why (shown by status)
  --reboot         reboot after the change (systemctl reboot)
  --json           the result (or the error) as JSON on stdout, for the web UI

Exit codes: 0 ok, 2 usage, 16 slot (a refusal, no slot setup, or the health check failed), 7 a command failed.
`;

const SUBCOMMANDS = ["status", "mark-good", "mark-bad", "activate", "rollback", "health-check", "fall-back"] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];
const SLOT_ARGS: SubcommandSpec<Subcommand> = {
  tool: "slot",
  subcommands: SUBCOMMANDS,
  valueOptions: ["--boot-dir", "--cmdline", "--reason"],
  booleanOptions: ["--json", "--reboot"],
  common: ["--json", "--boot-dir", "--cmdline"],
  extra: { status: [], "mark-good": [], "mark-bad": ["--reason", "--reboot"], activate: ["--reboot"], rollback: ["--reboot"], "health-check": [], "fall-back": ["--reason"] },
  positional: { "mark-good": 1, "mark-bad": 1, activate: 1 },
};

export interface SlotCliDeps {
  /** Created on first use: only health-check and --reboot run commands. */
  runner(): Runner;
  /** The kernel command line (without --cmdline). */
  cmdline(): string;
  now(): Date;
  write(text: string): void;
  /** Said on stderr (the journal, under a unit), beside the result. */
  warn(text: string): void;
}

export function defaultSlotDeps(): SlotCliDeps {
  let runner: Runner | undefined;
  return {
    runner: () => (runner ??= new ZxRunner(slotLog())),
    cmdline: runningCmdline,
    now: () => new Date(),
    write: (text) => process.stdout.write(text),
    warn: (text) => process.stderr.write(text),
  };
}

interface SlotArgs {
  sub: Subcommand;
  slot: string | undefined;
  options: Map<string, string | true>;
}

/** `va-agent slot …` (runSubcommand: --json prints an error as JSON). */
export async function slotCommand(argv: string[], deps: SlotCliDeps = defaultSlotDeps()): Promise<number> {
  if (isHelpRequest(argv)) {
    deps.write(SLOT_HELP);
    return 0;
  }
  const args = parseSlotArgs(argv);
  return runSubcommand(args, deps.write, (json) => runSlotCommand(args, deps, json));
}

async function runSlotCommand(args: SlotArgs, deps: SlotCliDeps, json: boolean): Promise<number> {
  if (args.sub === "health-check") {
    const report = await checkHealth(deps.runner());
    if (report.healthy) {
      deps.write(json ? `${JSON.stringify({ ok: true, command: args.sub, ...report }, null, 2)}\n` : "healthy: multi-user.target is active and no unit has failed\n");
    }
    assertHealthy(report);
    return 0;
  }
  const bootDir = stringOption(args, "--boot-dir") ?? SHARED_BOOT_MOUNT;
  const cmdlineFile = stringOption(args, "--cmdline");
  const cmdline = cmdlineFile ? readFileSync(cmdlineFile, "utf8").trim() : deps.cmdline();
  const store = fileSlotStore(bootDir);
  const reboot = args.options.has("--reboot");
  const leaveAnyway = (args.sub === "mark-bad" && reboot) || args.sub === "fall-back";
  const state = await storeStep(() => store.read(), leaveAnyway, deps);

  if (args.sub === "status") {
    const report = slotStatus({ ...state, rescueTaskRecord: pendingRescueTask(bootDir) }, bootedSlotOrNull(cmdline) ?? (bootedRescue(cmdline) ? "rescue" : null));
    deps.write(json ? `${JSON.stringify({ ok: true, command: args.sub, bootDir, ...report }, null, 2)}\n` : renderSlotStatus(report));
    return 0;
  }

  if (args.sub === "fall-back") return fallBack(args, state, store, cmdline, deps, json);

  const slot = args.slot === undefined ? null : slotNamed(args.slot, state);
  // The running slot is needed by rollback, and by mark-good / mark-bad without a slot named; its
  // absence is then the error bootedSlotIn raises (it says what the command line holds).
  const needsBooted = args.sub === "rollback" || ((args.sub === "mark-good" || args.sub === "mark-bad") && slot === null);
  const ctx = { booted: needsBooted ? bootedSlotIn(cmdline) : bootedSlotOrNull(cmdline), now: deps.now().toISOString() };
  const change = slotChangeFor(args, state, ctx, slot);
  await storeStep(() => applySlotChange(store, change), leaveAnyway, deps);
  const after = slotStatus(change.after, ctx.booted);
  if (json) deps.write(`${JSON.stringify({ ok: true, command: args.sub, slot: change.slot, message: change.message, reboot, status: after }, null, 2)}\n`);
  else deps.write(`${change.message}${reboot ? "; rebooting now" : ""}\n`);
  if (reboot) await deps.runner().run(["systemctl", "reboot"]);
  return 0;
}

async function fallBack(args: SlotArgs, state: SlotState, store: SlotStore, cmdline: string, deps: SlotCliDeps, json: boolean): Promise<number> {
  const ctx = { booted: bootedSlotIn(cmdline), now: deps.now().toISOString() };
  const change = fallBackChange(state, ctx, stringOption(args, "--reason") ?? "health check failed");
  if (!change) {
    const message = `slot ${ctx.booted} failed its health check, but slot ${otherSlot(ctx.booted)} cannot boot (${describeContent(state.metadata, otherSlot(ctx.booted))}): staying on slot ${ctx.booted}, not committed (this boot's try stays counted)`;
    deps.write(json ? `${JSON.stringify({ ok: true, command: args.sub, slot: ctx.booted, message, reboot: false }, null, 2)}\n` : `${message}\n`);
    return 0;
  }
  await storeStep(() => applySlotChange(store, change), true, deps);
  deps.write(json ? `${JSON.stringify({ ok: true, command: args.sub, slot: change.slot, message: change.message, reboot: true, status: slotStatus(change.after, ctx.booted) }, null, 2)}\n` : `${change.message}; rebooting now\n`);
  await deps.runner().run(["systemctl", "reboot"]);
  return 0;
}

/**
 * A read or write of the slot state. `mark-bad --reboot` (the health check's failure unit) leaves
 * this slot even when the state cannot be read or written: GRUB counted this boot's try, so the
 * reboots fall back to the other slot after the last try by themselves.
 */
async function storeStep<T>(step: () => T, rebootOnFailure: boolean, deps: SlotCliDeps): Promise<T> {
  try {
    return step();
  } catch (error) {
    if (rebootOnFailure) {
      deps.warn(`va-agent: could not mark the slot bad (${error instanceof Error ? error.message : String(error)}); rebooting anyway: GRUB counts this slot's tries and falls back after the last one\n`);
      await deps.runner().run(["systemctl", "reboot"]);
    }
    throw error;
  }
}

function slotChangeFor(args: SlotArgs, state: SlotState, ctx: { booted: SlotName | null; now: string }, slot: SlotName | null): SlotChange {
  switch (args.sub) {
    case "mark-good":
      return markGoodChange(state, ctx, slot);
    case "mark-bad":
      return markBadChange(state, ctx, slot, stringOption(args, "--reason") ?? null);
    case "activate":
      if (!slot) throw new UsageError("activate needs the slot: va-agent slot activate A|B");
      return activateChange(state, slot);
    case "rollback":
      if (slot) throw new UsageError(`rollback takes no slot (it boots the one not running); to pick one: va-agent slot activate ${args.slot}`);
      return rollbackChange(state, ctx);
    default:
      throw new UsageError(`unknown slot command "${args.sub}"`);
  }
}

export function parseSlotArgs(argv: string[]): SlotArgs {
  const { sub, positional, options } = parseSubcommandArgs(argv, SLOT_ARGS);
  return { sub, slot: positional[0], options };
}

const SLOT_USAGE_HINT = usageHint("slot");

/** A or B (either case), or the slot's LV name from the metadata (root, back). */
function slotNamed(name: string, state: SlotState): SlotName {
  const upper = name.toUpperCase();
  if (upper === "A" || upper === "B") return upper;
  const byLv = (["A", "B"] as const).find((slot) => state.metadata.slots[slot].lv === name);
  if (byLv) return byLv;
  throw new UsageError(`no slot named "${name}": A (LV ${state.metadata.slots.A.lv}) or B (LV ${state.metadata.slots.B.lv})`, SLOT_USAGE_HINT);
}



/** On disk where the box keeps the agent's logs; the console lines go to stderr (the journal, under a unit). */
function slotLog(): Log {
  try {
    return createLog({ file: "/var/log/va-agent/slot.log" });
  } catch {
    return createLog();
  }
}
