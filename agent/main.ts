import { existsSync, readFileSync } from "node:fs";
import { parseArgs, stringFlag, type CliArgs } from "./cli/args.ts";
import { statusReport } from "./cli/status.ts";
import { verifyCommand } from "./cli/verify.ts";
import { slotCommand } from "./cli/slot.ts";
import { rescueCommand } from "./cli/rescue.ts";
import { snapshotCommand } from "./cli/snapshot.ts";
import { stageCommand, stageUndoCommand } from "./cli/stage.ts";
import { installCommand, slotStateOnBoot } from "./cli/install.ts";
import { bootedSlotOrNull } from "./slots/booted-slot.ts";
import { SHARED_BOOT_MOUNT } from "./slots/slot-paths.ts";
import { INSTALL_WORK_DIR, installSetup } from "./slots/install-context.ts";
import { afterMigration, assertRunningFromRam } from "./cli/tiny-system.ts";
import { parseSgdiskBackup } from "./disk/gpt-backup.ts";
import { isIp } from "./carry-over/ip-address.ts";
import { UsageError, VaError, exitCodeOf } from "./errors/errors.ts";
import { Journal } from "./journal/journal.ts";
import { createLog, type Log } from "./log/logger.ts";
import type { Machine } from "./machine/machine.ts";
import { loadManifest } from "./manifest/manifest.ts";
import { stagingDirToSearch, STAGING_DIR_ARG } from "./manifest/staging-dir.ts";
import { stagedTrustOf } from "./manifest/staged-trust.ts";
import { ALLOW_DOWNGRADE_FLAG } from "./preflight/product-check.ts";
import { runningCmdline } from "./bootloader/resume-entry.ts";
import { manifestSchema } from "./manifest/schema.ts";
import { DEFAULT_STAGING_DIR, defaultPaths, type Paths } from "./paths.ts";
import { planMigration } from "./plan/plan.ts";
import { renderPlan } from "./plan/render.ts";
import { ZxRunner } from "./runner/runner.ts";
import { MIGRATION_STEPS, stepNamed } from "./steps/index.ts";
import type { StepContext } from "./steps/step.ts";
import { plannedMigrationCommands } from "./steps/whole-step.ts";
import { AGENT_VERSION } from "./version.ts";
import { ACCEPT_OPEN_WINDOW_FLAG } from "./preflight/staged-kernel-check.ts";
import { checkTinyTools, onPath, TINY_RUNTIME_TOOLS } from "./preflight/tiny-tools.ts";
import { migrateOrHandBack } from "./workflow/migrate-or-hand-back.ts";
import { prepare } from "./workflow/prepare.ts";
import { runStep } from "./workflow/migrate.ts";

const HELP = `va-agent ${AGENT_VERSION} — migrate an appliance disk to a new OS from the tiny system

Usage:
  va-agent migrate [--after reboot|poweroff|none]   run (or resume) the migration; the tiny system's unit runs this
  va-agent plan                                     probe and print every step and command; changes nothing
  va-agent plan --manifest M --layout L --machine J plan offline from files (machine: probed JSON)
  va-agent step NAME                                run one step by hand (from the dracut shell)
  va-agent status [--json]                          journal, last result, where the logs are
  va-agent stage BUNDLE [--reboot] [--json] [--accept-open-window] [--allow-downgrade] [--reached-via ADDRESS]
                                                    on the old system: verify, pre-flight, capture config, arm a one-time boot
  va-agent stage --undo [--json]                    on the old system: remove what stage added (tiny system on /boot, entry, payload)
  va-agent install BUNDLE [--allow-downgrade] [--json] [--dry-run]
                                                    on the running new system: a slot image into the inactive slot, booted next
  va-agent verify BUNDLE [--json]                   check the bundle's signature and every member's SHA-256
  va-agent schema                                   print the manifest's JSON Schema
  va-agent slot status|mark-good|mark-bad|activate SLOT|rollback|health-check|fall-back [--json] [--boot-dir DIR]
                                                    on a migrated box: the two system slots (\`va-agent slot --help\`)
  va-agent snapshot create NAME [--lv LV]...|list|merge NAME|delete NAME|watch|factory-record [--json] [--dry-run]
                                                    on a migrated box: LVM snapshots of the slots and /data, the factory point (\`va-agent snapshot --help\`)
  va-agent rescue start|status|factory-reset|install|clear-task [--json]
                                                    the rescue system: pending tasks, factory reset, an install from a USB stick (\`va-agent rescue --help\`)
  va-agent --version | --help

Options:
  --staging DIR      where the payload is staged on the old root (default: ${STAGING_DIR_ARG}= on the kernel command line, which stage sets from the manifest, else ${DEFAULT_STAGING_DIR})
  --work-dir DIR     the agent's state in RAM (default /run/va-agent)
  --target-root DIR  where the new root is mounted (default /sysimage)
  --keyring DIR      trusted Ed25519 public keys (default /etc/va-agent/keys; the tiny system has there the keys "build.ts initramfs --keyring" gave it)
  --insecure         accept an unsigned or wrongly signed bundle (development only; loudly warned; stage passes it to the tiny system)
  --allow-downgrade  stage or install a release older than the installed one (/etc/va-agent/installed.json); stage passes it to the tiny system
  --dry-run          install: print every phase and command it would run, run none
  --reached-via ADDRESS  the address the box is managed on (the web UI passes its own): stage refuses when its interface cannot be carried
  --accept-open-window  stage even when the staged tiny kernel stays in pieces (a power cut early in the migration then leaves no bootable path)

Steps: ${MIGRATION_STEPS.map((s) => s.name).join(", ")}
`;

async function main(argv: string[]): Promise<number> {
  // Its own options (--reason, --boot-dir) and help: parsed by the slot command.
  if (argv[0] === "slot") return slotCommand(argv.slice(1));
  if (argv[0] === "rescue") return rescueCommand(argv.slice(1));
  if (argv[0] === "snapshot") return snapshotCommand(argv.slice(1));
  const args = parseArgs(argv);
  if (args.flags.has("--help") || args.flags.has("-h") || args.command === "help") return print(HELP);
  const paths = defaultPaths(stringFlag(args, "--work-dir"), stringFlag(args, "--target-root"));
  switch (args.command) {
    case "version":
      return print(`va-agent ${AGENT_VERSION}\n`);
    case "schema":
      return print(`${JSON.stringify(manifestSchema, null, 2)}\n`);
    case "status":
      return print(statusReport(paths, args.flags.has("--json")));
    case "plan":
      return planCommand(args, paths);
    case "migrate":
      return migrateCommand(args, paths);
    case "step":
      return stepCommand(args, paths);
    case "stage": {
      if (args.flags.has("--undo")) return stageUndoCommand(args.flags.has("--json"), paths);
      const log = createLog({ file: "/var/log/va-agent/stage.log" });
      announce(log, "stage");
      const options = {
        bundle: requiredPositional(args, "stage needs the bundle's path: va-agent stage BUNDLE [--reboot]"),
        root: "/",
        reboot: args.flags.has("--reboot"),
        json: args.flags.has("--json"),
        keyring: stringFlag(args, "--keyring"),
        insecure: args.flags.has("--insecure"),
        allowDowngrade: args.flags.has(ALLOW_DOWNGRADE_FLAG),
        acceptOpenWindow: args.flags.has(ACCEPT_OPEN_WINDOW_FLAG),
        reachedVia: reachedViaOf(args),
      };
      return stageCommand(options, new ZxRunner(log), log);
    }
    case "install": {
      const log = createLog({ file: `${INSTALL_WORK_DIR}/install.log` });
      announce(log, "install");
      const bundle = requiredPositional(args, "install needs the slot image's path: va-agent install BUNDLE [--allow-downgrade] [--json] [--dry-run]");
      const setup = installSetup({ bundle, cmdline: runningCmdline(), keyring: stringFlag(args, "--keyring"), insecure: args.flags.has("--insecure"), allowDowngrade: args.flags.has(ALLOW_DOWNGRADE_FLAG) });
      const state = slotStateOnBoot(SHARED_BOOT_MOUNT, bootedSlotOrNull(runningCmdline()));
      return installCommand({ json: args.flags.has("--json"), dryRun: args.flags.has("--dry-run") }, setup, new ZxRunner(log), log, state);
    }
    case "verify":
      return verifyCommand(
        requiredPositional(args, "verify needs the bundle's path: va-agent verify BUNDLE"),
        { json: args.flags.has("--json"), keyring: stringFlag(args, "--keyring"), insecure: args.flags.has("--insecure") },
        createLog({ file: paths.logFile }),
      );
    default:
      throw new UsageError(`unknown command "${args.command}"`);
  }
}

/** The web UI passes the address it was reached on; a typo must not quietly disable the management check. */
function reachedViaOf(args: CliArgs): string | undefined {
  const address = stringFlag(args, "--reached-via");
  if (address !== undefined && !isIp(address)) throw new UsageError(`--reached-via needs an IPv4 or IPv6 address, not ${JSON.stringify(address)}`);
  return address;
}

async function planCommand(args: CliArgs, paths: Paths): Promise<number> {
  const manifestFile = stringFlag(args, "--manifest");
  if (manifestFile) {
    const layoutFile = requiredFlag(args, "--layout");
    const machine = JSON.parse(readFileSync(requiredFlag(args, "--machine"), "utf8")) as Machine;
    const manifest = loadManifest(manifestFile);
    const plan = planMigration(manifest, parseSgdiskBackup(readFileSync(layoutFile), layoutFile), machine);
    return print(renderPlan({ manifest, plan, paths }));
  }
  const log = createLog({ file: paths.logFile });
  announce(log, "plan");
  const run = new ZxRunner(log, true);
  const { manifest, plan } = await prepare(run, log, paths, stagingDirToSearch(stringFlag(args, "--staging"), runningCmdline()), trustOf(args));
  return print(renderPlan({ manifest, plan, paths }));
}

async function migrateCommand(args: CliArgs, paths: Paths): Promise<number> {
  assertRunningFromRam();
  const after = afterMigration(stringFlag(args, "--after"));
  const log = createLog({ file: paths.logFile });
  announce(log, args.command);
  const env = { run: new ZxRunner(log), log, paths };
  const checkTools = (ctx: StepContext) =>
    checkTinyTools(plannedMigrationCommands(ctx), onPath(), [...TINY_RUNTIME_TOOLS, "bash", "chroot", after === "none" ? "sync" : after]);
  await migrateOrHandBack(env, { dir: stagingDirToSearch(stringFlag(args, "--staging"), runningCmdline()), trust: trustOf(args) }, checkTools);
  log.info(`migration finished; ${after === "none" ? "staying in the tiny system" : `${after} now`}`);
  if (after !== "none") await env.run.run([after, "-f"]);
  return 0;
}

async function stepCommand(args: CliArgs, paths: Paths): Promise<number> {
  const name = args.positional[0];
  const step = name ? stepNamed(name) : undefined;
  if (!step) throw new UsageError(`step needs one of: ${MIGRATION_STEPS.map((s) => s.name).join(", ")}`);
  if (step.destructive) assertRunningFromRam();
  const { ctx, journal } = await stepContext(args, paths);
  await runStep(ctx, journal, step);
  return 0;
}

async function stepContext(args: CliArgs, paths: Paths): Promise<{ ctx: StepContext; journal: Journal }> {
  const log = createLog({ file: paths.logFile });
  announce(log, args.command);
  const run = new ZxRunner(log);
  const { manifest, plan } = await prepare(run, log, paths, stagingDirToSearch(stringFlag(args, "--staging"), runningCmdline()), trustOf(args));
  // After prepare: when resuming after a reboot, it brings the journal back from the resume store.
  const journal = Journal.open(paths.journalFile);
  return { ctx: { manifest, plan, paths, run, log }, journal };
}

/** The keyring and the operator's decisions: what stage put on the migration entry, and flags given by hand. */
function trustOf(args: CliArgs) {
  return stagedTrustOf(runningCmdline(), { keyring: stringFlag(args, "--keyring"), insecure: args.flags.has("--insecure"), allowDowngrade: args.flags.has(ALLOW_DOWNGRADE_FLAG) });
}

/** The first log line: version, command, and how long after kernel start the agent got control. */
function announce(log: Log, command: string): void {
  const uptime = existsSync("/proc/uptime") ? Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) : Number.NaN;
  log.info(`va-agent ${AGENT_VERSION} ${command} started ${uptime.toFixed(1)} s after kernel start`, { uptime });
}

function requiredPositional(args: CliArgs, usage: string): string {
  const value = args.positional[0];
  if (!value) throw new UsageError(usage);
  return value;
}

function requiredFlag(args: CliArgs, name: string): string {
  const value = stringFlag(args, name);
  if (!value) throw new UsageError(`${name} is required here`);
  return value;
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

function reportFailure(error: unknown, log?: Log): number {
  const code = exitCodeOf(error);
  if (error instanceof VaError) {
    process.stderr.write(`\nva-agent: ERROR: ${error.message}\nva-agent: next: ${error.hint}\nva-agent: exit code ${code}\n`);
  } else {
    process.stderr.write(`\nva-agent: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\nva-agent: exit code ${code}\n`);
  }
  log?.error("failed", { error: error instanceof Error ? error.message : String(error), exitCode: code });
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => process.exit(reportFailure(error)),
);
