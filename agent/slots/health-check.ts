import { SlotError } from "../errors/errors.ts";
import type { Runner } from "../runner/runner.ts";

/**
 * The shipped health check (`va-agent slot health-check`, units/va-health-running.service): the
 * system reached multi-user.target and no unit has failed. Vendors add their own checks as more
 * units RequiredBy=boot-complete.target.
 *
 * Only queries: it never waits for a job (`systemctl is-system-running --wait` would wait for the
 * boot to finish, and the boot includes this check's own job: a deadlock until its timeout).
 */
export interface HealthReport {
  healthy: boolean;
  failedUnits: string[];
  /** `systemctl is-active multi-user.target`: "active" when reached. */
  multiUser: string;
}

export const FAILED_UNITS_ARGV = ["systemctl", "list-units", "--state=failed", "--plain", "--no-legend"] as const;
export const MULTI_USER_ARGV = ["systemctl", "is-active", "multi-user.target"] as const;

export async function checkHealth(run: Runner): Promise<HealthReport> {
  const failed = await run.run(FAILED_UNITS_ARGV, { readOnly: true, timeoutSeconds: 60 });
  // is-active exits 3 for inactive, 0 for active: the answer is its output
  const multiUser = (await run.run(MULTI_USER_ARGV, { readOnly: true, allowFailure: true, timeoutSeconds: 60 })).stdout.trim() || "unknown";
  const failedUnits = failedUnitsIn(failed.stdout);
  return { healthy: failedUnits.length === 0 && multiUser === "active", failedUnits, multiUser };
}

/** The first column of `list-units --plain --no-legend` (a "●" marks failed units on some versions even with --plain). */
export function failedUnitsIn(listing: string): string[] {
  return listing
    .split("\n")
    .map((line) => line.replace(/^[\s●*]+/, "").split(/\s+/)[0] ?? "")
    .filter((unit) => unit.length > 0);
}

export function assertHealthy(report: HealthReport): void {
  if (report.healthy) return;
  const problems = [
    ...(report.failedUnits.length > 0 ? [`failed units: ${report.failedUnits.join(", ")}`] : []),
    ...(report.multiUser !== "active" ? [`multi-user.target is ${report.multiUser}, not active`] : []),
  ];
  throw new SlotError(
    `health check failed: ${problems.join("; ")}`,
    report.failedUnits.length > 0
      ? `See why: \`systemctl status ${report.failedUnits[0]}\` and \`journalctl -b -u ${report.failedUnits[0]}\`. At boot this failure marks the slot bad and reboots into the other slot (va-slot-failed.service).`
      : "See what the boot is still doing or what failed: `systemctl list-jobs`, `journalctl -b`. At boot this failure marks the slot bad and reboots into the other slot (va-slot-failed.service).",
    { refusal: "unhealthy", ...report },
  );
}
