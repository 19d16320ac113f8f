import { DEFAULT_KEYRING_DIR } from "../bundle/keyring.ts";
import { assertBundleIntact, type BundleReport } from "../bundle/report.ts";
import { verifyBundle } from "../bundle/verify.ts";
import { VaError, exitCodeOf } from "../errors/errors.ts";
import { warnLoudly, type Log } from "../log/logger.ts";

export interface VerifyOptions {
  json: boolean;
  keyring?: string;
  insecure: boolean;
}

/**
 * `va-agent verify BUNDLE`: the signature and every member's checksum. Progress and warnings go to
 * the log (stderr); the report to stdout. Human mode rethrows errors for main's ERROR/next lines;
 * --json prints them as JSON (for the web UI) and returns their exit code.
 */
export async function verifyCommand(bundlePath: string, options: VerifyOptions, log: Log): Promise<number> {
  let report: BundleReport | undefined;
  try {
    report = await verifyBundle(bundlePath, { keyring: options.keyring ?? DEFAULT_KEYRING_DIR, insecure: options.insecure, progress: (label) => log.progress(label) });
    for (const warning of report.warnings) warnLoudly(log, warning);
    if (!options.json) process.stdout.write(renderReport(report));
    assertBundleIntact(report);
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (!options.json) throw error;
    process.stdout.write(`${JSON.stringify({ bundle: bundlePath, ...report, ok: false, error: describeError(error) }, null, 2)}\n`);
    return exitCodeOf(error);
  }
}

export function renderReport(report: BundleReport): string {
  const s = report.signature;
  const lines = [
    `bundle    ${report.bundle}`,
    `product   ${report.product.name} ${report.product.release}`,
    `signature ${s.ok ? `ok, key ${s.keyId} (${s.keyFile})` : `NOT VERIFIED (--insecure): ${s.problem}`}`,
  ];
  for (const m of report.members) lines.push(`  ${(m.ok ? "ok" : "CORRUPT").padEnd(10)} ${m.file.padEnd(24)} ${String(m.bytes).padStart(12)} bytes  sha256 ${m.sha256}${m.ok ? "" : `, manifest says ${m.expectedBytes ?? "?"} bytes, sha256 ${m.expected}`}`);
  for (const m of report.missing) lines.push(`  ${"MISSING".padEnd(10)} ${m.file.padEnd(24)} (${m.role})`);
  for (const m of report.unexpected) lines.push(`  ${"UNEXPECTED".padEnd(10)} ${JSON.stringify(m.file)}: ${m.reason}`);
  lines.push(`result    ${report.ok ? "OK: signature and every checksum match" : "FAILED"}`);
  return `${lines.join("\n")}\n`;
}

function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof VaError) return { kind: error.kind, exitCode: error.exitCode, message: error.message, hint: error.hint, details: error.details };
  return { kind: "internal", exitCode: exitCodeOf(error), message: error instanceof Error ? error.message : String(error) };
}
