import { readFileSync } from "node:fs";
import { runningCmdline } from "../bootloader/resume-entry.ts";
import { UsageError } from "../errors/errors.ts";
import { createLog, type Log } from "../log/logger.ts";
import { ZxRunner, type Runner } from "../runner/runner.ts";
import { bootedSlotOrNull } from "../slots/booted-slot.ts";
import { SHARED_BOOT_MOUNT } from "../slots/slot-paths.ts";
import { planCreate } from "../snapshots/create.ts";
import { planDelete } from "../snapshots/delete.ts";
import { planFactoryRecord } from "../snapshots/factory-point.ts";
import { renderSnapshotListing, snapshotListing } from "../snapshots/list.ts";
import { planMerge } from "../snapshots/merge.ts";
import { operationPlanLines, performOperation, type SnapshotOperation } from "../snapshots/operation.ts";
import { readSnapshotFacts, snapshotLayout } from "../snapshots/snapshot-facts.ts";
import { planWatch } from "../snapshots/watch.ts";
import { listLogicalVolumes } from "../lvm/logical-volumes.ts";
import { isHelpRequest, parseSubcommandArgs, runSubcommand, stringOption, usageHint, type SubcommandSpec } from "./subcommand.ts";

export const SNAPSHOT_HELP = `va-agent snapshot — LVM snapshots of the slots and /data, and the factory point (docs/RESCUE.md)

Usage:
  va-agent snapshot create NAME [--lv LV]... [--dry-run] [--json]
                                   snapshot the LVs (default: the booted slot's) as NAME
  va-agent snapshot list [--json]  each snapshot: origins, COW size and use, invalid, merging, boot, record
  va-agent snapshot merge NAME [--no-reboot] [--dry-run] [--json]
                                   put the LVs back as they were when NAME was taken (and the slot state);
                                   an LV in use is merged by the rescue system: the box reboots into it
  va-agent snapshot delete NAME [--dry-run] [--json]
  va-agent snapshot watch [--dry-run] [--json]
                                   extend snapshots fuller than snapshots.extendAtPercent (the timer's command)
  va-agent snapshot factory-record [--dry-run] [--json]
                                   copy slot A into the factory LV once, at its first healthy boot (a unit runs it)

NAME: 1 to 32 of A-Z a-z 0-9 _ . + - (starting with a letter or digit); "factory" is reserved.

Options:
  --lv LV          create: an LV to snapshot (repeat for several; they are one snapshot NAME)
  --no-reboot      merge: when the rescue system must merge, leave the reboot to the operator
  --dry-run        print what would run (the facts are read: lvs, vgs), run nothing
  --boot-dir DIR   the shared boot partition's mount point (default ${SHARED_BOOT_MOUNT})
  --cmdline FILE   read the kernel command line (va.slot=) from FILE instead of /proc/cmdline
  --json           the result (or the error) as JSON on stdout, for the web UI

Exit codes: 0 ok, 2 usage, 18 snapshot (a refusal, or an LVM command under it failed), 7 a command failed.
`;

const SUBCOMMANDS = ["create", "list", "merge", "delete", "watch", "factory-record"] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];
const TAKES_NAME: readonly Subcommand[] = ["create", "merge", "delete"];
const SNAPSHOT_ARGS: SubcommandSpec<Subcommand> = {
  tool: "snapshot",
  subcommands: SUBCOMMANDS,
  valueOptions: ["--boot-dir", "--cmdline", "--lv"],
  booleanOptions: ["--json", "--dry-run", "--no-reboot"],
  common: ["--json", "--boot-dir", "--cmdline"],
  extra: { create: ["--lv", "--dry-run"], list: [], merge: ["--no-reboot", "--dry-run"], delete: ["--dry-run"], watch: ["--dry-run"], "factory-record": ["--dry-run"] },
  positional: { create: 1, merge: 1, delete: 1 },
};

export interface SnapshotCliDeps {
  runner(): Runner;
  log(): Log;
  /** The kernel command line (without --cmdline). */
  cmdline(): string;
  now(): Date;
  /** The running slot's root: its /etc/va-agent/slot-layout.json says the VG, the slots and the snapshot settings. */
  root: string;
  write(text: string): void;
  /** Said on stderr (the journal, under a unit), beside the result. */
  warn(text: string): void;
}

export function defaultSnapshotDeps(): SnapshotCliDeps {
  let log: Log | undefined;
  let runner: Runner | undefined;
  const theLog = () => (log ??= snapshotLog());
  return {
    runner: () => (runner ??= new ZxRunner(theLog())),
    log: theLog,
    cmdline: runningCmdline,
    now: () => new Date(),
    root: "/",
    write: (text) => process.stdout.write(text),
    warn: (text) => process.stderr.write(text),
  };
}

interface SnapshotArgs {
  sub: Subcommand;
  name: string | undefined;
  lvs: string[];
  options: Map<string, string | true>;
}

/** `va-agent snapshot …` (runSubcommand: --json prints an error as JSON). */
export async function snapshotCommand(argv: string[], deps: SnapshotCliDeps = defaultSnapshotDeps()): Promise<number> {
  if (isHelpRequest(argv)) {
    deps.write(SNAPSHOT_HELP);
    return 0;
  }
  const args = parseSnapshotArgs(argv);
  return runSubcommand(args, deps.write, (json) => runSnapshotCommand(args, deps, json));
}

async function runSnapshotCommand(args: SnapshotArgs, deps: SnapshotCliDeps, json: boolean): Promise<number> {
  const bootMount = stringOption(args, "--boot-dir") ?? SHARED_BOOT_MOUNT;
  const cmdlineFile = stringOption(args, "--cmdline");
  const cmdline = cmdlineFile ? readFileSync(cmdlineFile, "utf8").trim() : deps.cmdline();
  const run = deps.runner();
  if (args.sub === "list") {
    const layout = snapshotLayout(deps.root);
    const snapshots = snapshotListing(layout, await listLogicalVolumes(run, layout.vg), bootMount);
    deps.write(json ? `${JSON.stringify({ ok: true, command: "list", vg: layout.vg, snapshots }, null, 2)}\n` : renderSnapshotListing(snapshots));
    return 0;
  }
  const facts = await readSnapshotFacts(run, { root: deps.root, bootMount, booted: bootedSlotOrNull(cmdline), now: deps.now().toISOString() });
  const { op, extra } = operationFor(args, facts);
  const warnings = "warnings" in op ? (op.warnings as string[]) : [];
  for (const warning of warnings) deps.warn(`va-agent: WARNING: ${warning}\n`);
  const dryRun = args.options.has("--dry-run");
  const summary = { ok: true, command: args.sub, ...(args.name ? { name: args.name } : {}), ...extra, ...(warnings.length > 0 ? { warnings } : {}) };
  if (dryRun) {
    const plan = operationPlanLines(op);
    deps.write(json ? `${JSON.stringify({ ...summary, dryRun: true, plan }, null, 2)}\n` : `${plan.join("\n")}\n`);
    return 0;
  }
  await performOperation(run, deps.log(), facts.layout.vg, op);
  deps.write(json ? `${JSON.stringify({ ...summary, message: op.done }, null, 2)}\n` : `${op.done}\n`);
  return 0;
}

function operationFor(args: SnapshotArgs, facts: Awaited<ReturnType<typeof readSnapshotFacts>>): { op: SnapshotOperation; extra: Record<string, unknown> } {
  switch (args.sub) {
    case "create":
      return { op: planCreate(facts, args.name!, args.lvs), extra: {} };
    case "merge": {
      const reboot = !args.options.has("--no-reboot");
      const op = planMerge(facts, args.name!, { reboot });
      return { op, extra: { when: op.when, reboot: op.when === "rescue" && reboot } };
    }
    case "delete":
      return { op: planDelete(facts, args.name!), extra: {} };
    case "watch":
      return { op: planWatch(facts), extra: {} };
    case "factory-record": {
      const op = planFactoryRecord(facts);
      return { op, extra: op.skipped ? { skipped: op.skipped } : {} };
    }
    case "list":
      throw new Error("unreachable: list is answered without a plan");
  }
}

export function parseSnapshotArgs(argv: string[]): SnapshotArgs {
  const { sub, positional, options, values } = parseSubcommandArgs(argv, SNAPSHOT_ARGS);
  if (TAKES_NAME.includes(sub) && positional.length === 0) throw new UsageError(`va-agent snapshot ${sub} needs the snapshot's NAME`, usageHint("snapshot"));
  return { sub, name: positional[0], lvs: values.get("--lv") ?? [], options };
}

/** On disk where the box keeps the agent's logs; the console lines go to stderr (the journal, under a unit). */
function snapshotLog(): Log {
  try {
    return createLog({ file: "/var/log/va-agent/snapshot.log" });
  } catch {
    return createLog();
  }
}
