import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderGrubenv } from "../../agent/bootloader/grubenv.ts";
import { statusReport } from "../../agent/cli/status.ts";
import { Journal } from "../../agent/journal/journal.ts";
import { defaultPaths } from "../../agent/paths.ts";

/** An old system's root after `va-agent stage`: staged.json, and a grubenv with or without next_entry. */
function stagedOldRoot(nextEntry: string | null): string {
  const root = mkdtempSync(join(tmpdir(), "va-status-"));
  mkdirSync(join(root, "var/lib/va-agent"), { recursive: true });
  writeFileSync(join(root, "var/lib/va-agent/staged.json"), JSON.stringify({ staged: { name: "va-demo", release: "13.0" }, at: "2026-11-23T04:30:00.000Z", stagingDir: "/etc/upd" }));
  mkdirSync(join(root, "boot/grub2"), { recursive: true });
  const vars = new Map([["saved_entry", "0"], ...(nextEntry ? [["next_entry", nextEntry] as [string, string]] : [])]);
  writeFileSync(join(root, "boot/grub2/grubenv"), renderGrubenv(vars, 1024));
  return root;
}

describe("va-agent status on the old system, without a journal", () => {
  const paths = defaultPaths(mkdtempSync(join(tmpdir(), "va-work-")), "/nonexistent");

  test("staged and armed: the next boot migrates", () => {
    const text = statusReport(paths, false, stagedOldRoot("va-agent migration"));
    expect(text).toContain('staged: {"name":"va-demo","release":"13.0"} at 2026-11-23T04:30:00.000Z; the one-time entry is armed');
  });

  test("staged, entry consumed, no journal: the tiny system stopped before the point of no return without reporting", () => {
    const text = statusReport(paths, false, stagedOldRoot(null));
    expect(text).toContain("the one-time entry was booted since, and the tiny system did not report back");
    expect(text).toContain("this system is intact");
    expect(text).toContain("va-agent stage BUNDLE --reboot");
    expect(JSON.parse(statusReport(paths, true, stagedOldRoot(null))).staged.armed).toBe(false);
  });

  test("never staged: only says there is no journal", () => {
    expect(statusReport(paths, false, mkdtempSync(join(tmpdir(), "va-status-")))).toBe("no migration journal found on this system\n");
  });
});

describe("va-agent status after a failure before the steps (issue 13 item 4)", () => {
  test("a refusal in prepare shows its phase, exit code and message; a step failure is not printed twice", () => {
    const root = mkdtempSync(join(tmpdir(), "va-status-"));
    const paths = defaultPaths(mkdtempSync(join(tmpdir(), "va-work-")), "/nonexistent");
    const journalAt = join(root, paths.targetStateDir, "journal.json");
    mkdirSync(join(root, paths.targetStateDir), { recursive: true });
    const message = "the staged manifest /etc/upd/manifest.json does not match its signature";
    Journal.open(journalAt).setResult({ outcome: "failed", at: "2026-12-01T11:00:00.000Z", step: "prepare", message, exitCode: 13 });
    const text = statusReport(paths, false, root);
    expect(text).toContain("(step prepare, exit 13)");
    expect(text).toContain(`        ${message}`);

    const other = join(mkdtempSync(join(tmpdir(), "va-status-")), paths.targetStateDir);
    mkdirSync(other, { recursive: true });
    const journal = Journal.open(join(other, "journal.json"));
    const corrupt = "payload member va.tar.zst is corrupt";
    journal.finish(journal.begin("load-payload", "d"), "failed", { message: corrupt, exitCode: 6, hint: "stage again" });
    journal.setResult({ outcome: "failed", at: "2026-12-01T11:00:00.000Z", step: "load-payload", message: corrupt, exitCode: 6 });
    expect(statusReport(paths, false, join(other, "../../..")).split(corrupt).length).toBe(2);
  });
});
