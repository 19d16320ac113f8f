import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { nextEntryIn } from "../bootloader/grubenv.ts";
import { MIGRATION_ENTRY_TITLE } from "../bootloader/one-time-boot.ts";
import { Journal } from "../journal/journal.ts";
import type { Paths } from "../paths.ts";

/** The journal of the tiny system (RAM) if present, else the one the migration left in the new root. */
export function statusReport(paths: Paths, asJson: boolean, root = "/"): string {
  const candidates = [paths.journalFile, join(paths.targetRoot, paths.targetStateDir, "journal.json"), join(root, paths.targetStateDir, "journal.json")];
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    const staged = stagedState(root, paths);
    if (asJson) return `${JSON.stringify({ journal: null, logFile: paths.logFile, staged })}\n`;
    return `no migration journal found on this system\n${staged ? describeStaged(staged) : ""}`;
  }
  const journal = Journal.open(found);
  if (asJson) return `${JSON.stringify({ journal: found, logFile: paths.logFile, entries: journal.entries, result: journal.result }, null, 2)}\n`;
  const lines = [`journal: ${found}`, `log    : ${paths.logFile}`, ""];
  for (const entry of journal.entries) {
    lines.push(`  ${entry.outcome.padEnd(8)} ${entry.step.padEnd(24)} ${entry.seconds !== undefined ? `${entry.seconds}s` : ""}`);
    if (entry.error) lines.push(`           ${entry.error.message.split("\n")[0]}`, `           next: ${entry.error.hint}`);
  }
  const result = journal.result;
  lines.push("", result ? `result: ${result.outcome} at ${result.at}${result.step ? ` (step ${result.step}, exit ${result.exitCode})` : ""}` : "result: none yet");
  // A failure before the steps (prepare, the tool check) has no journal entry that says why.
  if (result?.message && !journal.entries.some((entry) => entry.step === result.step)) lines.push(`        ${result.message.split("\n")[0]}`);
  return `${lines.join("\n")}\n`;
}

interface StagedState {
  product: unknown;
  at: string;
  /** The one-time entry is still armed: the next boot starts the migration. */
  armed: boolean;
}

/** On the old system: what `stage` recorded, and whether its one-time entry was consumed since. */
function stagedState(root: string, paths: Paths): StagedState | null {
  const record = join(root, paths.targetStateDir, "staged.json");
  if (!existsSync(record)) return null;
  let staged: { staged: unknown; at: string };
  try {
    staged = JSON.parse(readFileSync(record, "utf8")) as typeof staged;
  } catch {
    return null; // unreadable: report no more than "no journal"
  }
  const grubenv = ["boot/grub2/grubenv", "boot/grub/grubenv"].map((p) => join(root, p)).find(existsSync);
  const next = grubenv ? nextEntryIn(grubenv) : undefined;
  return { product: staged.staged, at: staged.at, armed: next === MIGRATION_ENTRY_TITLE };
}

function describeStaged(staged: StagedState): string {
  const what = `staged: ${JSON.stringify(staged.product)} at ${staged.at}`;
  if (staged.armed) return `${what}; the one-time entry is armed: the next boot starts the migration (\`va-agent stage --undo\` disarms it)\n`;
  return [
    `${what}; the one-time entry was booted since, and the tiny system did not report back:`,
    "it stopped before the point of no return (power loss or hard reset), so this system is intact.",
    "next: run `va-agent stage BUNDLE --reboot` again to retry, or `va-agent stage --undo` to remove the staged files.",
    "",
  ].join("\n");
}
