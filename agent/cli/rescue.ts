import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { runningCmdline } from "../bootloader/resume-entry.ts";
import { RescueError, StepFailedError, UsageError, VaError } from "../errors/errors.ts";
import { createLog, type Log } from "../log/logger.ts";
import { formatArgv } from "../runner/argv-text.ts";
import { ZxRunner, type Runner } from "../runner/runner.ts";
import { sha256OfDevice } from "../rescue/factory-image.ts";
import { readFactoryResetFacts, requireFactoryPoint } from "../rescue/factory-reset-facts.ts";
import { factoryResetPlanLines, REQUEST_RESET_PHASES, requestResetPlanLines, runFactoryReset, RUNNING_SLOT_REBOOT, type FactoryResetTools } from "../rescue/factory-reset.ts";
import { REBOOT_COMMANDS, requireSharedBoot, rescueStepContext, slotVolumeGroup, type RescueContext } from "../rescue/rescue-context.ts";
import { runRescuePhases } from "../rescue/rescue-phases.ts";
import { prepareRescueInstall, releaseRescueInstall, rescueInstallPlanLines, runRescueInstall, type RescueInstallRequest } from "../rescue/rescue-install.ts";
import { RESCUE_MENU, rescueStart } from "../rescue/rescue-start.ts";
import { renderRescueStatus, rescueStatus } from "../rescue/rescue-status.ts";
import { clearRescueTask, pendingRescueTask } from "../rescue/rescue-task.ts";
import { SNAPSHOT_TOOLS, type FactoryRecord, type SnapshotTools } from "../rescue/snapshot-tools.ts";
import { bootedRescue, bootedSlotOrNull } from "../slots/booted-slot.ts";
import type { SlotStateWriter } from "../slots/install-state.ts";
import type { SlotName } from "../slots/slot-env.ts";
import { readSlotMetadata } from "../slots/slot-metadata.ts";
import { SHARED_BOOT_MOUNT } from "../slots/slot-paths.ts";
import { slotStateOnBoot } from "./install.ts";
import { isHelpRequest, parseSubcommandArgs, runSubcommand, stringOption, usageHint, type SubcommandSpec } from "./subcommand.ts";

export const RESCUE_HELP = `va-agent rescue — the rescue system's commands (GRUB's "Rescue" entry, va.mode=rescue)

Usage:
  va-agent rescue start [--json]          the rescue system's start script runs this: activate the VG, finish a
                                          pending rescue task (a merge, a factory reset) and reboot; else print the
                                          status and what can be done
  va-agent rescue status [--json]         slots, snapshots, factory point, pending task
  va-agent rescue factory-reset [--keep-data|--wipe-data] [--yes] [--dry-run] [--json]
                                          slot A back to the factory image, slot B emptied, /data kept unless
                                          --wipe-data (its filesystems made anew, same UUID and label); asks on a
                                          terminal unless --yes, --keep-data or --wipe-data is given; then reboots.
                                          From a running slot: requested as the rescue task, and the box reboots
                                          into the rescue system, which runs it
  va-agent rescue install BUNDLE|--label LABEL [--path P] [--slot A|B] [--allow-downgrade] [--dry-run] [--json]
                                          a slot image into a slot (default: not the one last committed), from a
                                          path, a filesystem labelled LABEL, or the VG's data LV (read-only mounts);
                                          the other slot is the running system the install carries from
  va-agent rescue clear-task [--json]     forget the pending rescue task (the slots boot again)

${RESCUE_MENU}
Options:
  --boot-dir DIR   the shared boot partition's mount point (default ${SHARED_BOOT_MOUNT})
  --vg VG          the VG of the slots (default: slots.json's, else the one VG holding both slot LVs)
  --cmdline FILE   read the kernel command line (va.mode=rescue) from FILE instead of /proc/cmdline
  --keyring DIR    install: trusted keys (default: the source slot's /etc/va-agent/keys)
  --insecure       install: accept an unsigned image (development only)
  --json           the result (or the error) as JSON on stdout

install and start run only in the rescue system. Exit codes: 0 ok, 2 usage, 19 rescue, 16 slot, 17 install, 7 a command failed.
`;

const SUBCOMMANDS = ["start", "status", "factory-reset", "install", "clear-task"] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];
const RESCUE_ARGS: SubcommandSpec<Subcommand> = {
  tool: "rescue",
  subcommands: SUBCOMMANDS,
  valueOptions: ["--boot-dir", "--vg", "--cmdline", "--label", "--path", "--slot", "--keyring"],
  booleanOptions: ["--json", "--dry-run", "--yes", "--keep-data", "--wipe-data", "--allow-downgrade", "--insecure"],
  common: ["--boot-dir", "--vg", "--cmdline", "--json"],
  extra: {
    start: [],
    status: [],
    "factory-reset": ["--yes", "--keep-data", "--wipe-data", "--dry-run"],
    install: ["--label", "--path", "--slot", "--keyring", "--allow-downgrade", "--insecure", "--dry-run"],
    "clear-task": [],
  },
  positional: { install: 1 },
};
const RESCUE_USAGE_HINT = usageHint("rescue");

export interface RescueCliDeps {
  runner(): Runner;
  log(): Log;
  /** The kernel command line (without --cmdline). */
  cmdline(): string;
  now(): Date;
  write(text: string): void;
  /** The operator's answer on the terminal; null when the console is not one. */
  ask(question: string): Promise<string | null>;
  /** agent/snapshots/'s factory point, block copy and merge. */
  tools: SnapshotTools;
  hashDevice: FactoryResetTools["hashDevice"];
  /** The slot state an install from the rescue system changes. */
  installState(bootMount: string): SlotStateWriter;
  /** Where an install mounts and writes (tests: tmp dirs). */
  installPaths: Pick<RescueInstallRequest, "mediaDir" | "sourceMount" | "workDir" | "slotTarget">;
}

export function defaultRescueDeps(): RescueCliDeps {
  let log: Log | undefined;
  let runner: Runner | undefined;
  const logOnce = () => (log ??= rescueLog());
  return {
    runner: () => (runner ??= new ZxRunner(logOnce())),
    log: logOnce,
    cmdline: runningCmdline,
    now: () => new Date(),
    write: (text) => process.stdout.write(text),
    ask: askOnTerminal,
    tools: SNAPSHOT_TOOLS,
    hashDevice: sha256OfDevice,
    installState: (bootMount) => slotStateOnBoot(bootMount, null),
    installPaths: {},
  };
}

interface RescueArgs {
  sub: Subcommand;
  bundle: string | undefined;
  options: Map<string, string | true>;
}

/** `va-agent rescue …` (runSubcommand: --json prints an error as JSON). */
export async function rescueCommand(argv: string[], deps: RescueCliDeps = defaultRescueDeps()): Promise<number> {
  if (isHelpRequest(argv)) {
    deps.write(RESCUE_HELP);
    return 0;
  }
  const args = parseRescueArgs(argv);
  return runSubcommand(args, deps.write, (json) => runRescueCommand(args, deps, json));
}

async function runRescueCommand(args: RescueArgs, deps: RescueCliDeps, json: boolean): Promise<number> {
  const bootMount = stringOption(args, "--boot-dir") ?? SHARED_BOOT_MOUNT;
  const cmdlineFile = stringOption(args, "--cmdline");
  const cmdline = cmdlineFile ? readFileSync(cmdlineFile, "utf8").trim() : deps.cmdline();
  if (args.sub === "start" || args.sub === "install") requireRescueSystem(args.sub, cmdline);
  requireSharedBoot(bootMount);
  const out = (document: Record<string, unknown>, text: string) => deps.write(json ? `${JSON.stringify({ ok: true, command: args.sub, ...document }, null, 2)}\n` : text);

  if (args.sub === "clear-task") {
    const task = pendingTaskOrProblem(bootMount);
    clearRescueTask(bootMount);
    out({ cleared: task }, `${task ? `rescue task cleared (${typeof task === "string" ? task : task.task})` : "no rescue task was pending"}; the slot menu boots the slots again\n`);
    return 0;
  }

  const run = deps.runner();
  const rctx: RescueContext = { run, log: deps.log(), bootMount, vg: stringOption(args, "--vg") ?? (await slotVolumeGroup(run, readSlotMetadata(bootMount))), now: () => deps.now().toISOString() };
  const tools = deps.tools;
  switch (args.sub) {
    case "status": {
      const status = await rescueStatus(rctx, tools);
      out({ ...status }, renderRescueStatus(status));
      return 0;
    }
    case "start": {
      const result = await rescueStart(rctx, tools, { copyBlockDevice: tools.copyBlockDevice, hashDevice: deps.hashDevice });
      if (result.task === null) {
        out({ task: null, status: result.status }, `${renderRescueStatus(result.status)}\n${RESCUE_MENU}`);
        return 0;
      }
      out({ task: result.task, rebooting: true }, `rescue task ${result.task.task} finished; rebooting\n`);
      await reboot(run);
      return 0;
    }
    case "factory-reset":
      return bootedRescue(cmdline) ? factoryReset(args, rctx, tools, deps, out) : requestFactoryReset(args, rctx, tools, deps, out, cmdline);
    case "install":
      return rescueInstall(args, rctx, deps, out);
  }
}

type Output = (document: Record<string, unknown>, text: string) => void;

async function factoryReset(args: RescueArgs, rctx: RescueContext, tools: SnapshotTools, deps: RescueCliDeps, out: Output): Promise<number> {
  const dryRun = args.options.has("--dry-run");
  const wipeData = await wipeDataChoice(args, rctx, deps, dryRun);
  const facts = await readFactoryResetFacts(rctx, tools, wipeData);
  const f = { rctx, facts, tools: { copyBlockDevice: tools.copyBlockDevice, hashDevice: deps.hashDevice } };
  const plan = factoryResetPlanLines(f);
  if (dryRun) {
    out({ dryRun: true, wipeData, plan }, `${plan.join("\n")}\n`);
    return 0;
  }
  if (!decidedByFlags(args)) await confirmReset(facts.record, wipeData, plan.slice(0, 6), deps);
  const phases = await runFactoryReset(f);
  out(
    { wipeData, release: { product: facts.record.product, release: facts.record.release }, phases: phases.map((p) => p.phase), rebooting: true },
    `slot A holds ${facts.record.product} ${facts.record.release} again (the factory point), slot B is empty, the data ${wipeData ? "made anew" : "kept"}; rebooting\n`,
  );
  await reboot(rctx.run);
  return 0;
}

function decidedByFlags(args: RescueArgs): boolean {
  return ["--yes", "--keep-data", "--wipe-data"].some((flag) => args.options.has(flag));
}

/** --wipe-data or --keep-data say it; --yes and --dry-run keep the data; otherwise the operator is asked (keep by default). */
async function wipeDataChoice(args: RescueArgs, rctx: RescueContext, deps: RescueCliDeps, dryRun: boolean): Promise<boolean> {
  if (args.options.has("--wipe-data") && args.options.has("--keep-data")) throw new UsageError("factory-reset takes --wipe-data or --keep-data, not both", RESCUE_USAGE_HINT);
  if (args.options.has("--wipe-data")) return true;
  if (dryRun || decidedByFlags(args)) return false;
  const answer = await deps.ask(`Factory reset: keep /data and the other filesystems of ${rctx.vg}? [Y/n] `);
  if (answer === null) throw notConfirmed("the console is not a terminal, so nobody was asked");
  return /^\s*n/i.test(answer);
}

/**
 * From a running slot (not the rescue system): the reset is requested as the rescue task and the box
 * reboots into the rescue system, which runs it (`rescue start`).
 */
async function requestFactoryReset(args: RescueArgs, rctx: RescueContext, tools: SnapshotTools, deps: RescueCliDeps, out: Output, cmdline: string): Promise<number> {
  const dryRun = args.options.has("--dry-run");
  const record = requireFactoryPoint(rctx.bootMount, tools);
  const wipeData = await wipeDataChoice(args, rctx, deps, dryRun);
  const booted = bootedSlotOrNull(cmdline) ?? "(not booted through the slot menu)";
  const plan = requestResetPlanLines(rctx, record, wipeData, booted);
  if (dryRun) {
    out({ dryRun: true, requested: false, wipeData, plan }, `${plan.join("\n")}\n`);
    return 0;
  }
  if (!decidedByFlags(args)) await confirmReset(record, wipeData, plan.slice(0, 3), deps);
  await runRescuePhases(REQUEST_RESET_PHASES, { rctx, wipeData }, rescueStepContext(rctx), (phase, error) => new StepFailedError(`factory-reset ${phase}`, error, "The slots and the data are as they were; the task may be half recorded: `va-agent rescue clear-task` removes it."));
  out(
    { requested: true, wipeData, release: { product: record.product, release: record.release }, rebooting: true },
    `factory reset to ${record.product} ${record.release} requested (the data ${wipeData ? "wiped" : "kept"}): rebooting into the rescue system, which verifies the factory image and resets\n`,
  );
  await rctx.run.run(RUNNING_SLOT_REBOOT);
  return 0;
}

async function confirmReset(record: FactoryRecord, wipeData: boolean, summary: string[], deps: RescueCliDeps): Promise<void> {
  deps.write(`${summary.join("\n")}\n`);
  const answer = await deps.ask(`Overwrite slot A with ${record.product} ${record.release}${wipeData ? " and WIPE the data" : ""}? Type "reset" to go on: `);
  if (answer === null) throw notConfirmed("the console is not a terminal, so nobody was asked");
  if (answer.trim() !== "reset") throw notConfirmed(`the answer was ${JSON.stringify(answer.trim())}, not "reset"`);
}

function notConfirmed(why: string): RescueError {
  return new RescueError(
    `factory reset not confirmed: ${why}`,
    "Nothing was changed. Confirm on the console, or say it on the command line: `va-agent rescue factory-reset --keep-data` (or --wipe-data, or --yes to keep the data); `--dry-run` shows every step first.",
    { refusal: "not-confirmed" },
  );
}

async function rescueInstall(args: RescueArgs, rctx: RescueContext, deps: RescueCliDeps, out: Output): Promise<number> {
  const label = stringOption(args, "--label");
  const path = stringOption(args, "--path");
  if (args.bundle !== undefined && (label !== undefined || path !== undefined)) throw new UsageError("rescue install takes BUNDLE (a path) or --label/--path (a medium to search), not both", RESCUE_USAGE_HINT);
  const factory = deps.tools.readFactoryRecord(rctx.bootMount);
  const request: RescueInstallRequest = {
    query: { ...(args.bundle !== undefined ? { bundle: args.bundle } : {}), ...(label !== undefined ? { label } : {}), ...(path !== undefined ? { path } : {}) },
    slot: slotOption(args),
    allowDowngrade: args.options.has("--allow-downgrade"),
    insecure: args.options.has("--insecure"),
    ...(stringOption(args, "--keyring") ? { keyring: stringOption(args, "--keyring")! } : {}),
    notData: factory ? [factory.lv] : [],
    ...deps.installPaths,
  };
  const install = await prepareRescueInstall(rctx, request, deps.installState(rctx.bootMount));
  const { facts } = install.ictx;
  if (args.options.has("--dry-run")) {
    const plan = rescueInstallPlanLines(install);
    await releaseRescueInstall(rctx, install);
    out({ dryRun: true, slot: install.target, from: install.source, bundle: install.found.bundle, product: facts.release.to, previous: facts.release.from, downgrade: facts.release.downgrade, warnings: facts.head.warnings, plan }, `${plan.join("\n")}\n`);
    return 0;
  }
  const result = await runRescueInstall(rctx, install);
  out(
    { installed: true, bundle: install.found.bundle, ...result },
    `installed ${result.product.name} ${result.product.release} into slot ${result.slot} (LV ${result.vg}/${result.lv}): it boots next; reboot now (\`${REBOOT_COMMANDS.map(formatArgv).join("; ")}\`): it is committed once its health checks pass, else slot ${result.from} boots again\n`,
  );
  return 0;
}

function requireRescueSystem(sub: Subcommand, cmdline: string): void {
  if (bootedRescue(cmdline)) return;
  const how =
    sub === "install"
      ? "On a running slot, `va-agent install BUNDLE` writes the other slot."
      : 'Boot the rescue system: reboot and pick "Rescue" in the boot menu (on the console), then run it there.';
  throw new RescueError(`va-agent rescue ${sub} runs only in the rescue system (va.mode=rescue on the kernel command line), which this is not`, `Nothing was changed. ${how}`, { refusal: "not-rescue-system" });
}

/** The task's record, or its problem as text when it cannot be read (clear-task removes it either way). */
function pendingTaskOrProblem(bootMount: string) {
  try {
    return pendingRescueTask(bootMount);
  } catch (error) {
    if (error instanceof VaError) return error.message;
    throw error;
  }
}

async function reboot(run: Runner): Promise<void> {
  for (const argv of REBOOT_COMMANDS) await run.run(argv);
}

export function parseRescueArgs(argv: string[]): RescueArgs {
  const { sub, positional, options } = parseSubcommandArgs(argv, RESCUE_ARGS);
  if (sub === "install" && positional.length === 0 && !options.has("--label") && !options.has("--path")) {
    throw new UsageError("rescue install needs the slot image: BUNDLE (a path), --label LABEL (a medium, with --path P on it), or --path P (on the data LV)", RESCUE_USAGE_HINT);
  }
  return { sub, bundle: positional[0], options };
}

function slotOption(args: RescueArgs): SlotName | null {
  const value = stringOption(args, "--slot");
  if (value === undefined) return null;
  const upper = value.toUpperCase();
  if (upper === "A" || upper === "B") return upper;
  throw new UsageError(`--slot takes A or B, not ${JSON.stringify(value)}`, RESCUE_USAGE_HINT);
}


async function askOnTerminal(question: string): Promise<string | null> {
  if (!process.stdin.isTTY) return null;
  const terminal = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await terminal.question(question);
  } finally {
    terminal.close();
  }
}

/** The rescue system's RAM (/run) keeps the log with the migration's. */
function rescueLog(): Log {
  try {
    return createLog({ file: "/run/va-agent/rescue.log" });
  } catch {
    return createLog();
  }
}
