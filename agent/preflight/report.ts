import type { PreflightCheck } from "./check.ts";

export interface PreflightReportJson {
  inhibitors: number;
  warnings: number;
  checks: PreflightCheck[];
}

export function hasInhibitors(checks: readonly PreflightCheck[]): boolean {
  return checks.some((check) => check.severity === "inhibitor");
}

/** For the web UI: counts, then every check in run order. */
export function reportJson(checks: readonly PreflightCheck[]): PreflightReportJson {
  return { inhibitors: count(checks, "inhibitor"), warnings: count(checks, "warning"), checks: checks.map((check) => ({ ...check })) };
}

/** For the operator: a count line, inhibitors first with finding and remedy, then warnings, then one line per passed check. */
export function renderReport(checks: readonly PreflightCheck[]): string {
  const inhibitors = checks.filter((check) => check.severity === "inhibitor");
  const warnings = checks.filter((check) => check.severity === "warning");
  const ok = checks.filter((check) => check.severity === "ok");
  const verdict = inhibitors.length > 0 ? "the migration is inhibited; nothing was changed" : "the migration can proceed";
  const lines = [
    `Pre-flight: ${plural(inhibitors.length, "inhibitor")}, ${plural(warnings.length, "warning")}, ${ok.length} passed — ${verdict}`,
  ];
  for (const check of [...inhibitors, ...warnings]) lines.push("", ...findingLines(check));
  if (ok.length > 0) lines.push("");
  for (const check of ok) lines.push(`ok [${check.id}] ${check.title}: ${check.finding}`);
  return `${lines.join("\n")}\n`;
}

/** Inhibitors and warnings found after the report was printed (while staging), in the report's form. */
export function renderFindings(checks: readonly PreflightCheck[]): string {
  return `${checks.flatMap((check) => ["", ...findingLines(check)]).join("\n")}\n`;
}

function findingLines(check: PreflightCheck): string[] {
  if (check.severity === "ok") return [`ok [${check.id}] ${check.title}: ${check.finding}`];
  return [`${check.severity === "inhibitor" ? "INHIBITOR" : "WARNING"} [${check.id}] ${check.title}`, `  finding: ${check.finding}`, `  remedy:  ${check.remedy}`];
}

function count(checks: readonly PreflightCheck[], severity: PreflightCheck["severity"]): number {
  return checks.filter((check) => check.severity === severity).length;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
