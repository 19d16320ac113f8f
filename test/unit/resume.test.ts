import { commandsOf, withHook } from "./step-hooks.ts";
import { applies } from "../../agent/steps/whole-step.ts";
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { Journal } from "../../agent/journal/journal.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { MIGRATION_STEPS } from "../../agent/steps/index.ts";
import type { Step, StepContext } from "../../agent/steps/step.ts";
import { runMigration } from "../../agent/workflow/migrate.ts";
import { FakeRunner } from "./fake-runner.ts";
import { BOOT_UUID, KVER, layDownNewRoot } from "./fixtures/new-root.ts";
import { manifestDocument, oldAppliance, referenceLayout, SHAPES } from "./fixtures/shapes.ts";


/** A tiny system in a temp dir: payload staged on the "old root", tar faked to lay down a new root. */
function world() {
  const dir = mkdtempSync(join(tmpdir(), "va-resume-"));
  const paths = defaultPaths(join(dir, "run"), join(dir, "sysimage"));
  const payload = new TextEncoder().encode("pretend this is va.tar.xz");
  const document = manifestDocument();
  (document.payload as { rootfs: Record<string, unknown> }).rootfs = {
    file: "va.tar.xz",
    bytes: payload.length,
    sha256: createHash("sha256").update(payload).digest("hex"),
    compression: "xz",
  };
  const manifest = parseManifest(document);
  const staged = join(paths.oldRootMount, "etc/upd");
  mkdirSync(staged, { recursive: true });
  writeFileSync(join(staged, "va.tar.xz"), payload);
  const run = new FakeRunner()
    .respond((argv) => (argv[0] === "tar" ? (layDownNewRoot(paths.targetRoot), {}) : undefined))
    .respond((argv) => (argv[0] === "lvm" && argv[1] === "vgs" ? { status: 5 } : undefined))
    .respond((argv) => (argv[0] === "blkid" && argv[1] === "-s" ? { stdout: `${BOOT_UUID}\n` } : undefined));
  const plan = planMigration(manifest, referenceLayout(), oldAppliance(SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!));
  const ctx: StepContext = { manifest, plan, paths, run, log: silentLog() };
  return { ctx, run, journal: () => Journal.open(paths.journalFile) };
}

function failingOnce(target: Step): Step[] {
  let failed = false;
  return MIGRATION_STEPS.map((step) =>
    step !== target
      ? step
      : withHook(step, () => {
          if (!failed) {
            failed = true;
            throw new Error(`power cut during ${step.name}`);
          }
        }),
  );
}

describe("a full run against fakes", () => {
  test("runs every step once and records each as done", async () => {
    const { ctx, run, journal } = world();
    await runMigration(ctx, journal());
    const entries = journal().entries;
    expect(entries.map((e) => e.step)).toEqual(MIGRATION_STEPS.map((s) => s.name));
    expect(entries.every((e) => e.outcome === "done")).toBe(true);
    expect(journal().result?.outcome).toBe("migrated");
    expect(run.calls).toContainEqual(["chroot", ctx.paths.targetRoot, "grub-install", "--target=i386-pc", "/dev/vda"]);
    expect(run.calls).toContainEqual(["chroot", ctx.paths.targetRoot, "dracut", "--force", "--kver", KVER, `/boot/initrd.img-${KVER}`]);
    expect(run.calls).toContainEqual(["chroot", ctx.paths.targetRoot, "grub-mkconfig", "-o", "/boot/grub/grub.cfg"]);
  });
});

describe("resume from each step boundary", () => {
  for (const [index, step] of MIGRATION_STEPS.entries()) {
    test(`interrupted in ${step.name}: the rerun starts there and skips the ${index} finished steps`, async () => {
      const { ctx, run, journal } = world();
      const steps = failingOnce(step);
      await expect(runMigration(ctx, journal(), steps)).rejects.toThrow(`step ${step.name} failed: power cut during ${step.name}`);
      const afterFailure = journal();
      expect(afterFailure.latest(step.name)?.outcome).toBe("failed");
      expect(afterFailure.result).toMatchObject({ outcome: "failed", step: step.name });
      run.calls.length = 0;

      await runMigration(ctx, journal(), steps);
      const rerun = journal().entries.slice(afterFailure.entries.length);
      expect(rerun.map((e) => e.step)).toEqual(MIGRATION_STEPS.slice(index).map((s) => s.name));
      expect(rerun.every((e) => e.outcome === "done")).toBe(true);
      const key = (argv: string[]) => argv.join("\0");
      const laterCommands = new Set(MIGRATION_STEPS.slice(index).flatMap((s) => commandsOf(s, ctx)).map(key));
      const onlyEarlier = MIGRATION_STEPS.slice(0, index)
        .flatMap((s) => commandsOf(s, ctx))
        .filter((argv) => !["mount", "umount"].includes(argv[0]!) && !laterCommands.has(key(argv)));
      for (const argv of onlyEarlier) expect(run.calls).not.toContainEqual(argv);
    });
  }
});

describe("a power cut in the middle of extraction", () => {
  test("a truncated os-release left by the cut does not stop the rerun of extract-rootfs", async () => {
    const { ctx, journal } = world();
    const extract = MIGRATION_STEPS.find((step) => step.name === "extract-rootfs")!;
    const steps = failingOnce(extract);
    await expect(runMigration(ctx, journal(), steps)).rejects.toThrow("power cut during extract-rootfs");
    mkdirSync(join(ctx.paths.targetRoot, "etc"), { recursive: true });
    writeFileSync(join(ctx.paths.targetRoot, "etc/os-release"), "");
    await runMigration({ ...ctx, distro: undefined }, journal(), steps);
    expect(journal().result?.outcome).toBe("migrated");
  });
});

describe("a step recorded done survives a power cut", () => {
  test("every destructive step's writes are flushed (sync) before the journal records it done", async () => {
    const { ctx, run, journal } = world();
    const callsWhenDone = new Map<string, string[][]>();
    const steps = MIGRATION_STEPS.map((step) => withHook(step, () => void callsWhenDone.set(step.name, [...run.calls]), "after"));
    await runMigration(ctx, journal(), steps);
    for (const step of MIGRATION_STEPS.filter((s) => s.destructive && applies(s, ctx) === true)) {
      const before = callsWhenDone.get(step.name)!.length;
      const doneAt = journal().entries.findIndex((e) => e.step === step.name);
      expect(doneAt).toBeGreaterThan(-1);
      // the first call after the step's own work is the flush
      expect(run.calls[before]).toEqual(["sync"]);
    }
  });
});
