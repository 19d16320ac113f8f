import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSnapshotArgs } from "../../agent/cli/snapshot.ts";
import { SLOT_UNIT_FILES } from "../../agent/slots/slot-units.ts";
import { factoryRecordPath } from "../../agent/snapshots/factory-point.ts";
import { SHARED_BOOT_MOUNT } from "../../agent/slots/slot-paths.ts";

/** key → values of one unit file, sections ignored (the keys below are unique to theirs). */
function keys(name: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of readFileSync(join(import.meta.dir, "../../units", name), "utf8").split("\n")) {
    if (!line.includes("=") || line.startsWith("#")) continue;
    const key = line.slice(0, line.indexOf("="));
    map.set(key, [...(map.get(key) ?? []), line.slice(line.indexOf("=") + 1)]);
  }
  return map;
}

function snapshotArgv(exec: string): string[] {
  const argv = exec.split(/\s+/);
  expect(argv.slice(0, 2)).toEqual([exec.startsWith("-") ? "-/usr/sbin/va-agent" : "/usr/sbin/va-agent", "snapshot"]);
  return argv.slice(2);
}

describe("the snapshot units", () => {
  test("va-snapshot-watch.service runs `snapshot watch`, its failure ignored (a failed unit would fail the slot's health check), never enabled itself", () => {
    const unit = keys("va-snapshot-watch.service");
    expect(unit.get("ExecStart")![0]!.startsWith("-")).toBe(true);
    expect(parseSnapshotArgs(snapshotArgv(unit.get("ExecStart")![0]!)).sub).toBe("watch");
    expect(unit.has("WantedBy")).toBe(false);
  });

  test("the timer fires each minute and is enabled by timers.target", () => {
    const timer = keys("va-snapshot-watch.timer");
    expect([timer.get("OnUnitActiveSec"), timer.get("WantedBy")]).toEqual([["1min"], ["timers.target"]]);
  });

  test("va-factory-point.service: after the commit unit (and multi-user.target, no cycle: slot-units-verify.test.ts) and requiring it, skipped once factory.json exists, runs factory-record", () => {
    const unit = keys("va-factory-point.service");
    expect([unit.get("After"), unit.get("Requires")]).toEqual([["va-slot-commit.service multi-user.target"], ["va-slot-commit.service"]]);
    expect(unit.get("ConditionPathExists")).toEqual([`!${factoryRecordPath(SHARED_BOOT_MOUNT)}`]);
    expect(parseSnapshotArgs(snapshotArgv(unit.get("ExecStart")![0]!)).sub).toBe("factory-record");
  });

  test("all three are slot units (installed by the migration and every install)", () => {
    expect(SLOT_UNIT_FILES.map((u) => u.file)).toEqual(expect.arrayContaining(["va-snapshot-watch.service", "va-snapshot-watch.timer", "va-factory-point.service"]));
  });
});
