import type { Log } from "../log/logger.ts";
import { type CarryOverReportJson, renderCarryOver } from "../preflight/carry-over-report.ts";
import { renderFindings, renderReport, reportJson } from "../preflight/report.ts";
import type { Runner } from "../runner/runner.ts";
import { stageBundle } from "../stage/stage.ts";
import type { PreflightCheck } from "../preflight/check.ts";
import { exitCodeOf, VaError } from "../errors/errors.ts";
import type { Paths } from "../paths.ts";
import { undoStage } from "../stage/undo.ts";

export interface StageCliOptions {
  bundle: string;
  /** "/" on the box; a fixture tree in tests. */
  root: string;
  reboot: boolean;
  json: boolean;
  keyring?: string;
  insecure: boolean;
  allowDowngrade: boolean;
  acceptOpenWindow: boolean;
  /** The address the operator reaches the box on (`--reached-via`; the web UI passes its own). */
  reachedVia?: string;
}

/** `va-agent stage BUNDLE [--reboot] [--json]`: the one click, on the old system. */
export async function stageCommand(options: StageCliOptions, run: Runner, log: Log): Promise<number> {
  let checks: PreflightCheck[] = [];
  let warnings: string[] = [];
  let reported = 0;
  let carryOver: CarryOverReportJson | undefined;
  const onCarryOver = (found: CarryOverReportJson) => (carryOver = found);
  // The log shouts them on stderr in both modes; stdout carries them too, as verify's report does.
  const onWarnings = (found: string[]) => {
    warnings = found;
    if (!options.json) for (const warning of found) process.stdout.write(`WARNING: ${warning}\n`);
  };
  const onReport = (found: PreflightCheck[]) => {
    checks = found;
    reported = found.length;
    if (!options.json) process.stdout.write(renderReport(found));
  };
  try {
    const result = await stageBundle(run, log, { bundle: options.bundle, root: options.root, keyring: options.keyring, insecure: options.insecure, allowDowngrade: options.allowDowngrade, acceptOpenWindow: options.acceptOpenWindow, reachedVia: options.reachedVia, onReport, onWarnings, onCarryOver });
    // Findings made while staging (after the report was printed), e.g. an accepted open window.
    const late = result.checks.slice(reported);
    if (!options.json && late.length > 0) process.stdout.write(renderFindings(late));
    if (!options.json) process.stdout.write(renderCarryOver(result.carryOver));
    if (options.json) process.stdout.write(`${JSON.stringify({ staged: true, product: result.manifest.product, warnings, preflight: reportJson(checks), carryOver: result.carryOver }, null, 2)}\n`);
    else process.stdout.write(`staged ${result.manifest.product.name} ${result.manifest.product.release}; ${options.reboot ? "rebooting into the tiny system now" : "reboot to start the migration"}\n`);
  } catch (error) {
    if (!options.json) {
      if (carryOver) process.stdout.write(renderCarryOver(carryOver));
      throw error;
    }
    process.stdout.write(`${JSON.stringify({ staged: false, warnings, preflight: reportJson(checks), ...(carryOver ? { carryOver } : {}), error: failureJson(error) }, null, 2)}\n`);
    return exitCodeOf(error);
  }
  if (options.reboot) await run.run(["systemctl", "reboot"]);
  return 0;
}

/** `va-agent stage --undo [--json]`: on the old system, take back everything stage added. */
export function stageUndoCommand(json: boolean, paths: Paths): number {
  try {
    process.stdout.write(renderUndo(undoStage({ root: "/", paths }).removed, json));
    return 0;
  } catch (error) {
    if (!json) throw error;
    process.stdout.write(`${JSON.stringify({ undone: false, error: failureJson(error) }, null, 2)}\n`);
    return exitCodeOf(error);
  }
}

export function failureJson(error: unknown): { message: string; hint?: string; exitCode: number } {
  return error instanceof VaError ? { message: error.message, hint: error.hint, exitCode: error.exitCode } : { message: String(error), exitCode: exitCodeOf(error) };
}

export function renderUndo(removed: string[], json: boolean): string {
  if (json) return `${JSON.stringify({ undone: true, removed }, null, 2)}\n`;
  if (removed.length === 0) return "nothing to undo: no staged migration, tiny system or one-time entry found\n";
  return `${["staging undone; the old system boots as before. removed:", ...removed.map((what) => `  ${what}`)].join("\n")}\n`;
}
