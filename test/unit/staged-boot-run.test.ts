import { runAlone } from "./step-hooks.ts";
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { coreLbaOf } from "../../agent/bootloader/staged-boot-image.ts";
import { Journal } from "../../agent/journal/journal.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { MIGRATION_STEPS } from "../../agent/steps/index.ts";
import { restoreFromStagedMap } from "../../agent/resume/staged-map.ts";
import { runMigration } from "../../agent/workflow/migrate.ts";
import { armResumeBoot } from "../../agent/steps/arm-resume-boot.ts";
import { stagedRun } from "./fixtures/staged-run.ts";

const DISK = "/dev/vda";

const upTo = (name: string) => MIGRATION_STEPS.slice(0, MIGRATION_STEPS.findIndex((s) => s.name === name) + 1);

describe("a migration with the staged boot (window A closed)", () => {
  test("the point of no return is one sector: the boot sector, written before any other destructive command", async () => {
    const { run, ctx } = stagedRun();
    await runMigration(ctx, Journal.open(ctx.paths.journalFile), upTo("create-volumes"));
    const writes = run.sectorWrites.filter((w) => w.what !== "test setup" && w.device === DISK);
    expect(writes.map((w) => [w.what, w.lba])).toEqual([
      ["staged boot code", 1024],
      ["staged map", writes[1]!.lba],
      ["boot sector (staged boot)", 0],
      ["GPT", ctx.plan.disk.sectors - 33],
      ["GPT", ctx.plan.disk.sectors - 1],
      ["GPT", 2],
      ["GPT", 1],
      ["protective MBR (boot code kept)", 0],
    ]);
    const firstDestructiveCommand = run.calls.findIndex((argv) => argv[1] === "vgchange");
    const bootSector = writes.find((w) => w.what.startsWith("boot sector"))!;
    expect(bootSector.afterCommands).toBeLessThanOrEqual(firstDestructiveCommand);
    expect(writes[1]!.lba + writes[1]!.sectors).toBe(2048);
    const sector0 = await run.readSectors(DISK, 0, 1);
    expect(coreLbaOf(sector0)).toBe(1024);
    expect(sector0[450]).toBe(0xee);
    expect(run.calls.some((argv) => argv[0] === "sgdisk" && argv.at(-1) === DISK)).toBe(false);
    expect(run.calls.some((argv) => argv[0] === "wipefs" && argv.at(-1) === DISK)).toBe(false);
  });

  test("sectors before the first partition used by something else: left alone, window A stays open, the migration goes on", async () => {
    const { run, ctx } = stagedRun();
    void run.writeSectors(DISK, 1500, Buffer.alloc(512, 0x77), "test setup");
    await runMigration(ctx, Journal.open(ctx.paths.journalFile), upTo("wipe-old-system"));
    expect(run.sectorWrites.filter((w) => w.what !== "test setup").map((w) => w.what)).toEqual([]);
    expect(run.calls.some((argv) => argv[0] === "wipefs" && argv.at(-1) === DISK)).toBe(false);
  });

  test("a kit left by an attempt cut before the point of no return is recognised and written again", async () => {
    const first = stagedRun();
    await runMigration(first.ctx, Journal.open(first.ctx.paths.journalFile), upTo("write-staged-boot"));
    const kit = await first.run.readSectors(DISK, 1024, 1024);
    const again = stagedRun();
    void again.run.writeSectors(DISK, 1024, kit, "test setup");
    await runMigration(again.ctx, Journal.open(again.ctx.paths.journalFile), upTo("wipe-old-system"));
    expect(again.run.sectorWrites.filter((w) => w.what !== "test setup").map((w) => w.what)).toEqual(["staged boot code", "staged map", "boot sector (staged boot)"]);
  });

  test("the resume core goes between the GPT and the staged boot code; a rerun writes the half the boot sector does not load", async () => {
    const { run, ctx } = stagedRun();
    await runMigration(ctx, Journal.open(ctx.paths.journalFile), upTo("load-payload"));
    await runAlone(armResumeBoot, ctx);
    expect(coreLbaOf(await run.readSectors(DISK, 0, 1))).toBe(34);
    await runAlone(armResumeBoot, ctx);
    expect(coreLbaOf(await run.readSectors(DISK, 0, 1))).toBe(34 + 495);
    await runAlone(armResumeBoot, ctx);
    expect(run.sectorWrites.filter((w) => w.what === "resume boot code").map((w) => w.lba)).toEqual([34, 529, 34]);
    expect(run.sectorWrites.every((w) => w.what === "test setup" || w.lba + w.sectors <= 1024)).toBe(true);
  });

  test("the store LV comes first, on extents around the staged files; the others are not zeroed", async () => {
    const { run, ctx } = stagedRun();
    await runMigration(ctx, Journal.open(ctx.paths.journalFile), upTo("create-volumes"));
    const lvcreates = run.calls.filter((argv) => argv[1] === "lvcreate");
    expect(lvcreates.map((argv) => argv[argv.indexOf("--name") + 1])).toEqual(["back", "root", "data"]);
    // The kernel (3,000,000) lies in extent (3,000,000 − 2,103,296 − 2048) / 8192 = 109, the initramfs in 121.
    expect(lvcreates[0]!.slice(lvcreates[0]!.indexOf("VA") + 1)).toEqual(["/dev/vda3:0-108", "/dev/vda3:110-120", "/dev/vda3:122-513"]);
    expect(lvcreates[1]).toContain("--zero");
    expect(lvcreates[1]![lvcreates[1]!.indexOf("--zero") + 1]).toBe("n");
  });

  test("load-payload reads each staged file from its sectors, and refuses when they do not match", async () => {
    const { ctx, files } = stagedRun();
    await runMigration(ctx, Journal.open(ctx.paths.journalFile), upTo("load-payload"));
    expect(createHash("sha256").update(readFileSync(join(ctx.paths.payloadDir, "vmlinuz"))).digest("hex")).toBe(files[2]!.sha256);

    const bad = stagedRun();
    void bad.run.writeSectors(DISK, 3_000_000, Buffer.alloc(512), "a sector changed");
    await expect(runMigration(bad.ctx, Journal.open(bad.ctx.paths.journalFile), upTo("load-payload"))).rejects.toThrow("payload member vmlinuz is corrupt");
    expect(bad.run.sectorWrites.filter((w) => w.what !== "test setup" && w.what !== "a sector changed")).toEqual([]);
  });

  test("after a power cut in window A, a staged-boot resume rebuilds RAM from the disk alone", async () => {
    const { run, ctx, files } = stagedRun();
    await runMigration(ctx, Journal.open(ctx.paths.journalFile), upTo("wipe-old-system"));
    const cmdline = readFileSync(join(ctx.paths.workDir, "staged-boot.cfg"), "utf8").split("\n").find((l) => l.startsWith("linux "))!;
    const next = defaultPaths(mkdtempSync(join(tmpdir(), "va-staged-resume-")), "/sysimage-test");
    expect(await restoreFromStagedMap(run, silentLog(), next, cmdline)).toBe(true);
    const plan = JSON.parse(readFileSync(join(next.workDir, "plan.json"), "utf8"));
    expect(plan.stagedBoot).toEqual(ctx.plan.stagedBoot);
    for (const file of files) expect(createHash("sha256").update(readFileSync(join(next.payloadDir, file.file))).digest("hex")).toBe(file.sha256);
    expect(await restoreFromStagedMap(run, silentLog(), next, cmdline)).toBe(false);
  });

  test("issue 13 item 3: after a power cut in window A the disk comes back as /dev/vdb behind another /dev/vda: the staged map is found and the plan names /dev/vdb", async () => {
    const { run, ctx, files, disks } = stagedRun();
    await runMigration(ctx, Journal.open(ctx.paths.journalFile), upTo("wipe-old-system"));
    const cmdline = readFileSync(join(ctx.paths.workDir, "staged-boot.cfg"), "utf8").split("\n").find((l) => l.startsWith("linux "))!;
    expect(cmdline).toContain("va.staged-map=/dev/vda:");
    run.renameDevice(DISK, "/dev/vdb");
    const target = disks.seen.find((d) => d.type === "disk")!;
    disks.seen = [{ ...target, ptuuid: "5d4c3b2a" }, { ...target, path: "/dev/vdb" }];
    const next = defaultPaths(mkdtempSync(join(tmpdir(), "va-staged-renamed-")), "/sysimage-test");
    run.calls.length = 0;
    expect(await restoreFromStagedMap(run, silentLog(), next, cmdline)).toBe(true);
    const plan = JSON.parse(readFileSync(join(next.workDir, "plan.json"), "utf8"));
    expect(plan.disk.path).toBe("/dev/vdb");
    expect(JSON.stringify(plan)).not.toMatch(/\/dev\/vda/);
    for (const file of files) expect(createHash("sha256").update(readFileSync(join(next.payloadDir, file.file))).digest("hex")).toBe(file.sha256);

    // Neither disk is the one the map describes: refused, nothing read into RAM.
    const none = defaultPaths(mkdtempSync(join(tmpdir(), "va-staged-missing-")), "/sysimage-test");
    disks.seen = [{ ...target, ptuuid: "5d4c3b2a" }];
    await expect(restoreFromStagedMap(run, silentLog(), none, cmdline)).rejects.toThrow(/the staged map .* is on none of the disks of this boot: \/dev\/vda \(/);
    expect(existsSync(join(none.workDir, "plan.json"))).toBe(false);
  });
});
