import type { Log } from "../log/logger.ts";
import { renderReport, reportJson } from "../preflight/report.ts";
import type { Runner } from "../runner/runner.ts";
import { stageBundle } from "../stage/stage.ts";
import type { PreflightCheck } from "../preflight/check.ts";
import { exitCodeOf, VaError } from "../errors/errors.ts";

export interface StageCliOptions {
  bundle: string;
  reboot: boolean;
  json: boolean;
  keyring?: string;
  insecure: boolean;
}

/** `va-agent stage BUNDLE [--reboot] [--json]`: the one click, on the old system. */
export async function stageCommand(options: StageCliOptions, run: Runner, log: Log): Promise<number> {
  let checks: PreflightCheck[] = [];
  const onReport = (found: PreflightCheck[]) => {
    checks = found;
    if (!options.json) process.stdout.write(renderReport(found));
  };
  try {
    const result = await stageBundle(run, log, { bundle: options.bundle, root: "/", keyring: options.keyring, insecure: options.insecure, onReport });
    if (options.json) process.stdout.write(`${JSON.stringify({ staged: true, product: result.manifest.product, preflight: reportJson(checks) }, null, 2)}\n`);
    else process.stdout.write(`staged ${result.manifest.product.name} ${result.manifest.product.release}; ${options.reboot ? "rebooting into the tiny system now" : "reboot to start the migration"}\n`);
  } catch (error) {
    if (!options.json) throw error;
    const failure = error instanceof VaError ? { message: error.message, hint: error.hint, exitCode: error.exitCode } : { message: String(error), exitCode: exitCodeOf(error) };
    process.stdout.write(`${JSON.stringify({ staged: false, preflight: reportJson(checks), error: failure }, null, 2)}\n`);
    return exitCodeOf(error);
  }
  if (options.reboot) await run.run(["systemctl", "reboot"]);
  return 0;
}
