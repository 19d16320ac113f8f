import { existsSync } from "node:fs";
import { join } from "node:path";
import { Journal } from "../journal/journal.ts";
import type { Paths } from "../paths.ts";

/** The journal of the tiny system (RAM) if present, else the one the migration left in the new root. */
export function statusReport(paths: Paths, asJson: boolean): string {
  const candidates = [paths.journalFile, join(paths.targetRoot, paths.targetStateDir, "journal.json"), join(paths.targetStateDir, "journal.json")];
  const found = candidates.find((path) => existsSync(path));
  if (!found) return asJson ? `${JSON.stringify({ journal: null, logFile: paths.logFile })}\n` : "no migration journal found on this system\n";
  const journal = Journal.open(found);
  if (asJson) return `${JSON.stringify({ journal: found, logFile: paths.logFile, entries: journal.entries, result: journal.result }, null, 2)}\n`;
  const lines = [`journal: ${found}`, `log    : ${paths.logFile}`, ""];
  for (const entry of journal.entries) {
    lines.push(`  ${entry.outcome.padEnd(8)} ${entry.step.padEnd(24)} ${entry.seconds !== undefined ? `${entry.seconds}s` : ""}`);
    if (entry.error) lines.push(`           ${entry.error.message.split("\n")[0]}`, `           next: ${entry.error.hint}`);
  }
  const result = journal.result;
  lines.push("", result ? `result: ${result.outcome} at ${result.at}${result.step ? ` (step ${result.step}, exit ${result.exitCode})` : ""}` : "result: none yet");
  return `${lines.join("\n")}\n`;
}
