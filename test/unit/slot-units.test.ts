import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSlotArgs } from "../../agent/cli/slot.ts";
import { SLOT_UNIT_FILES } from "../../agent/slots/slot-units.ts";

const UNITS = join(import.meta.dir, "../../units");

/** section → key → values, in order (a key may repeat, as After= does). */
function unitFile(name: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current = new Map<string, string[]>();
  for (const raw of readFileSync(join(UNITS, name), "utf8").split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("[")) {
      current = new Map();
      sections.set(line.slice(1, -1), current);
      continue;
    }
    const key = line.slice(0, line.indexOf("="));
    current.set(key, [...(current.get(key) ?? []), line.slice(line.indexOf("=") + 1)]);
  }
  return sections;
}

/** systemd's ExecStart= word splitting, for the double quotes these units use. */
function execArgv(value: string): string[] {
  return [...value.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

function slotArgvOf(value: string): string[] {
  const argv = execArgv(value);
  expect(argv.slice(0, 2)).toEqual(["/usr/sbin/va-agent", "slot"]);
  return argv.slice(2);
}

describe("the slot units", () => {
  test("va-slot-commit: after boot-complete.target (required) and explicitly after multi-user.target, runs mark-good", () => {
    const unit = unitFile("va-slot-commit.service");
    expect(unit.get("Unit")!.get("After")).toEqual(["multi-user.target", "boot-complete.target"]);
    expect(unit.get("Unit")!.get("Requires")).toEqual(["boot-complete.target"]);
    expect(unit.get("Service")!.get("Type")).toEqual(["oneshot"]);
    expect(unit.get("Install")!.get("WantedBy")).toEqual(["multi-user.target"]);
    expect(parseSlotArgs(slotArgvOf(unit.get("Service")!.get("ExecStart")![0]!))).toMatchObject({ sub: "mark-good", slot: undefined });
  });

  test("va-health-running: between multi-user.target and boot-complete.target, required by the latter, marks bad on failure", () => {
    const unit = unitFile("va-health-running.service");
    expect(unit.get("Unit")!.get("After")).toEqual(["multi-user.target"]);
    expect(unit.get("Unit")!.get("Before")).toEqual(["boot-complete.target"]);
    expect(unit.get("Unit")!.get("OnFailure")).toEqual(["va-slot-failed.service"]);
    expect(unit.get("Service")!.get("Type")).toEqual(["oneshot"]);
    expect(unit.get("Service")!.get("RemainAfterExit")).toEqual(["yes"]);
    expect(unit.get("Install")!.get("RequiredBy")).toEqual(["boot-complete.target"]);
    expect(parseSlotArgs(slotArgvOf(unit.get("Service")!.get("ExecStart")![0]!)).sub).toBe("health-check");
  });

  test("va-slot-failed: fall-back with the reason (reboots only when the other slot can boot), never enabled", () => {
    const unit = unitFile("va-slot-failed.service");
    expect(unit.has("Install")).toBe(false);
    const args = parseSlotArgs(slotArgvOf(unit.get("Service")!.get("ExecStart")![0]!));
    expect(args.sub).toBe("fall-back");
    expect(args.options.get("--reason")).toBe("health check failed");
  });

  test("the watchdog drop-in arms systemd's runtime watchdog", () => {
    expect(unitFile("va-watchdog.conf").get("Manager")!.get("RuntimeWatchdogSec")).toEqual(["30s"]);
  });

  test("each slot file exists in units/, and its enable link is what its [Install] section asks for", () => {
    for (const unit of SLOT_UNIT_FILES) {
      const install = unitFile(unit.file).get("Install");
      const wanted = [...(install?.get("WantedBy") ?? []).map((t) => `${t}.wants`), ...(install?.get("RequiredBy") ?? []).map((t) => `${t}.requires`)];
      expect(unit.enableLink ? [unit.enableLink] : [], unit.file).toEqual(wanted.map((dir) => `/etc/systemd/system/${dir}/${unit.file}`));
    }
  });
});
