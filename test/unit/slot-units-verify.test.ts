// The slot units as the box gets them (installSlotUnits, enable links included), loaded by systemd's
// own checker with multi-user.target: no ordering cycle, no unit dropped to break one. A cycle shows
// only in a boot's transaction (journal: "Job … deleted to break ordering cycle"), never in a unit's
// own text, so this runs the transaction that `systemd-analyze verify` builds.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installSlotUnits, SLOT_UNIT_FILES } from "../../agent/slots/slot-units.ts";

const CYCLE = /ordering cycle|deleted to break|Unable to break cycle|cyclic/i;

function verifyTransaction(edit?: (unitDir: string) => void): string {
  const root = mkdtempSync(join(tmpdir(), "va-units-"));
  installSlotUnits(root);
  const unitDir = join(root, "etc/systemd/system");
  edit?.(unitDir);
  const units = SLOT_UNIT_FILES.filter((unit) => /\.(service|timer)$/.test(unit.file)).map((unit) => join(root, unit.installTo));
  const result = spawnSync("systemd-analyze", ["verify", "--man=no", "/lib/systemd/system/multi-user.target", ...units], { cwd: unitDir, encoding: "utf8" });
  if (result.error) throw result.error;
  return `${result.stdout}${result.stderr}`;
}

describe("the slot units in one boot transaction (systemd-analyze verify)", () => {
  test("commit, factory point, health check, failure handler and snapshot watch: no ordering cycle", () => {
    const said = verifyTransaction();
    expect(said).not.toMatch(CYCLE);
  });

  test("the check fails when the factory point is not explicitly after multi-user.target (the cycle QEMU showed)", () => {
    const said = verifyTransaction((unitDir) => {
      const path = join(unitDir, "va-factory-point.service");
      writeFileSync(path, readFileSync(path, "utf8").replace("After=va-slot-commit.service multi-user.target", "After=va-slot-commit.service"));
    });
    expect(said).toMatch(CYCLE);
  });
});
