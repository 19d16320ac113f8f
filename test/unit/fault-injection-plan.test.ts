import { describe, expect, test } from "bun:test";
import { MIGRATION_STEPS } from "../../agent/steps/index.ts";
import { asLanded, chainFrom, injectionPoints, schedule } from "../e2e/fault-injection.ts";
import { measureWindows } from "../e2e/windows.ts";

describe("fault injection plan (issue 5)", () => {
  const points = injectionPoints();

  test("has a point after every step and at least four mid-step points", () => {
    for (const step of MIGRATION_STEPS) expect(points.some((p) => p.name === `after ${step.name}`)).toBe(true);
    expect(points.filter((p) => p.name.startsWith("mid ")).length).toBeGreaterThanOrEqual(4);
  });

  test("expects the old system before the point of no return, the staged boot until the resume entry is armed, then the resume entry, the new system once its GRUB is in", () => {
    const expectOf = (name: string) => points.find((p) => p.name === name)!.expect;
    expect(expectOf("after load-payload")).toBe("old");
    expect(expectOf("after check-payload-archive")).toBe("old");
    expect(expectOf("after write-staged-boot")).toBe("old");
    expect(expectOf("after wipe-old-system")).toBe("staged");
    expect(expectOf("mid persist-for-resume")).toBe("staged");
    expect(expectOf("after persist-for-resume")).toBe("staged");
    expect(expectOf("after arm-resume-boot")).toBe("resume");
    expect(expectOf("after write-bootloader-config")).toBe("resume");
    expect(expectOf("after install-bootloader")).toBe("new");
    expect(expectOf("after unmount-target")).toBe("new");
  });

  test("the schedule cuts at every point `repeat` times: consecutive chains first, each new-system point alone", () => {
    const runs = schedule(points, 2, 4);
    for (const point of points) expect(runs.flatMap((r) => r.cuts).filter((c) => c === point).length).toBe(2);
    expect(runs.slice(0, 8).map((r) => r.name)).toEqual(["chain-1-1", "chain-2-1", "chain-3-1", "chain-4-1", "chain-1-2", "chain-2-2", "chain-3-2", "chain-4-2"]);
    const chained = points.filter((p) => p.expect !== "new");
    expect(runs.slice(0, 4).flatMap((r) => r.cuts)).toEqual(chained);
    for (const run of runs.slice(0, 8)) expect(run.cuts.every((c) => c.expect !== "new")).toBe(true);
    for (const run of runs.slice(8)) expect(run.cuts.map((c) => c.expect)).toEqual(["new"]);
  });
});

describe("where a cut landed", () => {
  const afterStagedBoot = injectionPoints().find((p) => p.name === "after write-staged-boot")!;

  test("a cut meant for before the point of no return that came after its first write expects the staged boot", () => {
    const console = "write-staged-boot: done in 1.7 s\nwipe-old-system: boot sector of /dev/vda now starts the tiny system from the staged files\n";
    expect(asLanded(afterStagedBoot, console).expect).toBe("staged");
  });

  test("otherwise the planned expectation stands", () => {
    expect(asLanded(afterStagedBoot, "write-staged-boot: done in 1.7 s\n").expect).toBe("old");
    // The step's start line comes before its boot-sector write: a kill there still boots the old system.
    expect(asLanded(afterStagedBoot, "wipe-old-system: switch the boot sector … — POINT OF NO RETURN\n").expect).toBe("old");
    const afterWipe = injectionPoints().find((p) => p.name === "after wipe-old-system")!;
    expect(asLanded(afterWipe, "boot sector of /dev/vda now starts the tiny system from the staged files").expect).toBe("staged");
  });
});

describe("a chain from a given point", () => {
  test("takes every resume point from there and ends at the first cut after which the new system boots", () => {
    const chain = chainFrom(injectionPoints({ rebuildInitramfs: true }), "mid extract-rootfs");
    expect(chain.cuts[0]!.name).toBe("mid extract-rootfs");
    expect(chain.cuts.map((c) => c.name)).toContain("mid rebuild-initramfs");
    expect(chain.cuts.at(-1)!.name).toBe("after install-bootloader");
    expect(chain.cuts.slice(0, -1).every((c) => c.expect === "resume")).toBe(true);
    expect(() => chainFrom(injectionPoints(), "mid nothing")).toThrow('no injection point named "mid nothing"');
    expect(() => chainFrom(injectionPoints(), "after make-filesystems", "after wipe-old-system")).toThrow("comes before");
  });

  test("from before the point of no return: the old system's cuts too", () => {
    const chain = chainFrom(injectionPoints(), "before load-payload", "after write-staged-boot");
    expect(chain.cuts.map((c) => c.name)).toEqual(["before load-payload", "mid load-payload", "after load-payload", "after check-payload-archive", "after write-staged-boot"]);
  });

  test("through window A to a given last cut: the staged and store resumes on one disk", () => {
    const chain = chainFrom(injectionPoints(), "after wipe-old-system", "after arm-resume-boot", 2);
    expect(chain.name).toBe("chain-from-after-wipe-old-system-2");
    expect(chain.cuts.map((c) => c.expect)).toEqual(["staged", "staged", "staged", "staged", "staged", "staged", "resume"]);
    expect(chain.cuts.at(-1)!.name).toBe("after arm-resume-boot");
  });
});

describe("unsafe window measure", () => {
  test("sums the window's steps from the console, last completion wins", () => {
    const log = [
      "[va-agent 02:42:57] wipe-old-system: done in 3.8 s",
      "[va-agent 02:50:00] fix-filesystem-uuids: done in 9.0 s",
      "[va-agent 02:59:00] fix-filesystem-uuids: done in 1.7 s",
    ].join("\n");
    expect(measureWindows(log).map((w) => [w.window, w.seconds])).toEqual([["C (upper bound)", 1.7]]);
  });

  test("no window when one of its steps did not finish", () => {
    expect(measureWindows("[va-agent 02:42:57] wipe-old-system: done in 3.8 s")).toEqual([]);
  });
});
