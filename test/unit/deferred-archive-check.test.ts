import { commandsOf } from "./step-hooks.ts";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArchiveError, ExitCode, StepFailedError } from "../../agent/errors/errors.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { archiveCheckOf } from "../../agent/payload/archive-check.ts";
import { renderPlan } from "../../agent/plan/render.ts";
import { ZxRunner } from "../../agent/runner/runner.ts";
import { stageBundle } from "../../agent/stage/stage.ts";
import { checkPayloadArchive } from "../../agent/steps/check-payload-archive.ts";
import { MIGRATION_STEPS } from "../../agent/steps/index.ts";
import { runMigration } from "../../agent/workflow/migrate.ts";
import type { PreflightCheck } from "../../agent/preflight/check.ts";
import { stageCommand } from "../../agent/cli/stage.ts";
import { failedBeforePointOfNoReturn } from "../../agent/workflow/migrate-or-hand-back.ts";
import { buildTestBundle, captureStdout, makeWorkspace, removeWorkspaces, writeRawTar, type RawEntry } from "./bundle-fixture.ts";
import { FakeRunner } from "./fake-runner.ts";
import { stageableOldBox } from "./old-box-fixture.ts";
import { stagedTinySystem } from "./fixtures/staged-tiny-system.ts";

afterAll(removeWorkspaces);

const KVER = "6.12.0-va";
const GOOD_ROOT: RawEntry[] = [
  { name: "./", type: "directory" },
  { name: "./boot/", type: "directory" },
  { name: `./boot/vmlinuz-${KVER}`, body: Buffer.alloc(4096, 7) },
  { name: `./usr/lib/modules/${KVER}/modules.dep`, body: Buffer.from("\n") },
  { name: "./etc/fstab", body: Buffer.from("/dev/mapper/VA-root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n/dev/mapper/VA-data /data ext4 defaults 0 2\n") },
];
/** Extracted by GNU tar, `lib -> /` then `lib/x` writes into the tiny system's own root. */
const UNSAFE_ROOT: RawEntry[] = [...GOOD_ROOT, { name: "./lib", type: "symlink", linkName: "/" }, { name: "./lib/evil", body: Buffer.from("x") }];

function xzTar(entries: RawEntry[]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "va-deferred-"));
  const tar = writeRawTar(join(dir, "root.tar"), entries);
  const xz = Bun.spawnSync(["xz", "-c", "-0"], { stdin: readFileSync(tar), stdout: "pipe", stderr: "pipe" });
  if (xz.exitCode !== 0) throw new Error(`xz: ${xz.stderr.toString()}`);
  unlinkSync(tar);
  return Buffer.from(xz.stdout);
}

/** The old box without xz: every `xz` it is asked to run is not found (exit 127). */
function oldBoxWithoutXz() {
  const box = stageableOldBox();
  box.run.respond((argv) => (argv[0] === "xz" ? { status: 127, stderr: "xz: command not found" } : undefined));
  return box;
}

async function stageWithoutXz(entries: RawEntry[]) {
  const ws = makeWorkspace({ rootfs: (path) => writeFileSync(path, xzTar(entries)) });
  const box = oldBoxWithoutXz();
  let checks: PreflightCheck[] = [];
  await stageBundle(box.run, silentLog(), { bundle: await buildTestBundle(ws), root: box.root, keyring: ws.keyring, onReport: (found) => (checks = found) });
  const entry = readFileSync(join(box.root, "boot/grub2/custom.cfg"), "utf8").split("\n").find((line) => line.trim().startsWith("linux "))!;
  return { box, checks, cmdline: entry.trim().split(" ") };
}

/** The tiny system with the xz payload staged on the old root; filters run the host's real xz. */
const tinySystem = (archive: Buffer, cmdline: string) =>
  stagedTinySystem(archive, { run: new FakeRunner().filtersOn(new ZxRunner(silentLog())), archiveCheck: archiveCheckOf(cmdline) });

const DESTRUCTIVE = /^(wipefs|sgdisk|lvm|mkfs(\..*)?|tune2fs|xfs_admin|grub2?-(reboot|mkconfig|install|editenv)|dracut)$/;
const upToCheck = () => MIGRATION_STEPS.slice(0, MIGRATION_STEPS.indexOf(checkPayloadArchive) + 1);

describe("issue 13 item 13: stage on an old system without xz defers the archive check to the tiny system", () => {
  test("a valid xz payload: staged, the report says the check is deferred, the migration entry carries va.check-archive", async () => {
    const { box, checks, cmdline } = await stageWithoutXz(GOOD_ROOT);
    expect(box.run.calls).toContainEqual(["xz", "-dc"]);
    const finding = checks.find((c) => c.id === "payload-archive")!;
    expect(finding.severity).toBe("warning");
    expect(finding.finding).toBe("no xz on this system: the payload archive's members will be checked in the tiny system, before the point of no return");
    expect(cmdline).toContain("va.check-archive");
    expect(existsStaged(box.root)).toBe(true);
  });

  test("with xz on the old system: checked at stage, no finding, nothing deferred", async () => {
    const ws = makeWorkspace({ rootfs: (path) => writeFileSync(path, xzTar(GOOD_ROOT)) });
    const box = stageableOldBox();
    let checks: PreflightCheck[] = [];
    await stageBundle(box.run, silentLog(), { bundle: await buildTestBundle(ws), root: box.root, keyring: ws.keyring, onReport: (found) => (checks = found) });
    expect(checks.find((c) => c.id === "payload-archive")).toBeUndefined();
    expect(readFileSync(join(box.root, "boot/grub2/custom.cfg"), "utf8")).not.toContain("va.check-archive");
  });

  test("an unsafe xz payload and no xz: stage cannot tell and stages; the tiny system's check-payload-archive refuses it (exit 15) before anything destructive", async () => {
    const { cmdline } = await stageWithoutXz(UNSAFE_ROOT);
    const world = tinySystem(xzTar(UNSAFE_ROOT), cmdline.join(" "));
    expect(world.ctx.plan.archiveCheck).toBe("deferred");
    let caught: unknown;
    await runMigration(world.ctx, world.journal()).catch((error) => (caught = error));
    expect(caught).toBeInstanceOf(StepFailedError);
    expect((caught as StepFailedError).exitCode).toBe(ExitCode.archive);
    expect((caught as StepFailedError).cause).toBeInstanceOf(ArchiveError);
    expect((caught as StepFailedError).message).toContain("lib/evil");
    expect(world.journal().latest("load-payload")?.outcome).toBe("done");
    expect(world.journal().latest("check-payload-archive")?.outcome).toBe("failed");
    expect(world.run.calls).toContainEqual(["xz", "-dc"]);
    expect(world.run.calls.filter((argv) => DESTRUCTIVE.test(argv[0]!))).toEqual([]);
    // migrate-or-hand-back's rule: this failure hands back to the old system
    expect(failedBeforePointOfNoReturn({ resuming: false, journal: world.journal() })).toBe(true);
  });

  test("--json carries the deferral as a warning of the pre-flight report", async () => {
    const ws = makeWorkspace({ rootfs: (path) => writeFileSync(path, xzTar(GOOD_ROOT)) });
    const box = oldBoxWithoutXz();
    const bundle = await buildTestBundle(ws);
    const { result, stdout } = await captureStdout(() =>
      stageCommand({ bundle, root: box.root, reboot: false, json: true, keyring: ws.keyring, insecure: false, allowDowngrade: false, acceptOpenWindow: false }, box.run, silentLog()),
    );
    expect(result).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.staged).toBe(true);
    expect(JSON.stringify(report.preflight)).toContain("no xz on this system: the payload archive's members will be checked in the tiny system, before the point of no return");
  });

  test("deferred, a valid payload: the tiny system's check passes with its own xz", async () => {
    const world = tinySystem(xzTar(GOOD_ROOT), "console=ttyS0 va.check-archive");
    await runMigration(world.ctx, world.journal(), upToCheck());
    expect(world.journal().latest("check-payload-archive")?.outcome).toBe("done");
    expect(world.run.calls).toContainEqual(["xz", "-dc"]);
  });

  test("checked at stage: the step runs nothing, and the plan shows xz -dc only when deferred", async () => {
    const atStage = tinySystem(xzTar(UNSAFE_ROOT), "console=ttyS0");
    expect(atStage.ctx.plan.archiveCheck).toBe("at-stage");
    expect(commandsOf(checkPayloadArchive, atStage.ctx)).toEqual([]);
    await runMigration(atStage.ctx, atStage.journal(), upToCheck());
    expect(atStage.run.calls.filter((argv) => argv[0] === "xz")).toEqual([]);
    expect(renderPlan(atStage.ctx)).toContain("archive    : checked at stage");
    const deferred = tinySystem(xzTar(GOOD_ROOT), "va.check-archive");
    expect(commandsOf(checkPayloadArchive, deferred.ctx)).toEqual([["xz", "-dc"]]);
    expect(renderPlan(deferred.ctx)).toContain(`check: the members of ${join(deferred.ctx.paths.payloadDir, "va.tar.xz")}, fed to xz on its stdin`);
    expect(renderPlan(deferred.ctx)).toContain("archive    : deferred");
  });

  test("the step comes right after load-payload and is not destructive", () => {
    expect(MIGRATION_STEPS.map((s) => s.name).slice(0, 2)).toEqual(["load-payload", "check-payload-archive"]);
    expect(checkPayloadArchive.destructive).toBe(false);
  });
});

function existsStaged(root: string): boolean {
  try {
    return readFileSync(join(root, "var/lib/va-agent/staged.json"), "utf8").length > 0;
  } catch {
    return false;
  }
}
