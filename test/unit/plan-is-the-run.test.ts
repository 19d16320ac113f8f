import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Journal } from "../../agent/journal/journal.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { renderPlan } from "../../agent/plan/render.ts";
import { MIGRATION_STEPS } from "../../agent/steps/index.ts";
import { outline } from "../../agent/steps/outline.ts";
import type { Performed } from "../../agent/steps/perform.ts";
import type { StepContext } from "../../agent/steps/step.ts";
import { applies, wholeStep } from "../../agent/steps/whole-step.ts";
import { runMigration } from "../../agent/workflow/migrate.ts";
import { FakeRunner } from "./fake-runner.ts";
import { conforms } from "./fixtures/plan-conformance.ts";
import { fakeGrubInstall } from "./fixtures/grub.ts";
import { stagedRun } from "./fixtures/staged-run.ts";
import { BOOT_UUID, KVER, layDownNewRoot } from "./fixtures/new-root.ts";
import { manifestDocument, oldAppliance, referenceLayout, SHAPES, type Shape } from "./fixtures/shapes.ts";

// Issue 15's done-when: every step of the migration, run against the fake runner for each disk
// shape, performs exactly the entries `plan` rendered for it: no more, no fewer, in the same
// order, skipped only where the plan says it may be, every command and sector write inside one.

function world(shape: Shape, variant: (document: Record<string, unknown>) => void = () => {}, bootUuid = "0000-not-yet") {
  const dir = mkdtempSync(join(tmpdir(), "va-plan-run-"));
  const paths = defaultPaths(join(dir, "run"), join(dir, "sysimage"));
  const payload = new TextEncoder().encode("pretend this is va.tar.xz");
  const document = manifestDocument();
  (document.payload as { rootfs: Record<string, unknown> }).rootfs = { file: "va.tar.xz", bytes: payload.length, sha256: createHash("sha256").update(payload).digest("hex"), compression: "xz" };
  variant(document);
  const manifest = parseManifest(document);
  mkdirSync(join(paths.oldRootMount, "etc/upd"), { recursive: true });
  writeFileSync(join(paths.oldRootMount, "etc/upd/va.tar.xz"), payload);
  const run = new FakeRunner()
    .respond((argv) => (argv[0] === "tar" ? (layDownNewRoot(paths.targetRoot), {}) : undefined))
    .respond((argv) => (argv[0] === "lvm" && argv[1] === "vgs" ? { status: 5 } : undefined))
    .respond((argv) => (argv[0] === "blkid" && argv[1] === "-s" ? { stdout: `${bootUuid}\n` } : undefined));
  const plan = planMigration(manifest, referenceLayout(), oldAppliance(shape));
  const ctx: StepContext = { manifest, plan, paths, run, log: silentLog() };
  return { ctx, run };
}

const flat = (records: readonly Performed[]): Performed[] => records.flatMap((r) => [r, ...flat(r.children ?? [])]);

async function holdRunToPlan(ctx: StepContext, run: FakeRunner) {
  const planned = new Map(MIGRATION_STEPS.map((step) => [step.name, outline(wholeStep(step, ctx))]));
  const rendered = renderPlan(ctx);
  const performed = new Map<string, Performed[]>();
  await runMigration(ctx, Journal.open(ctx.paths.journalFile), MIGRATION_STEPS, (step, done) => performed.set(step.name, done));
  expect([...performed.keys()]).toEqual(MIGRATION_STEPS.map((s) => s.name));
  for (const step of MIGRATION_STEPS) {
    conforms(planned.get(step.name)!, performed.get(step.name)!, step.name);
    const skipped = applies(step, ctx);
    if (skipped !== true) expect(rendered).toContain(`      skipped: ${skipped}`);
  }
  const records = MIGRATION_STEPS.flatMap((step) => flat(performed.get(step.name)!));
  // No command and no sector write outside an entry: the runner saw exactly what the records hold, in order.
  expect(run.calls).toEqual(records.flatMap((r) => r.commands));
  // (the fixtures' own writes, placing staged files and faking sgdisk on the scratch image, are not the agent's)
  const agentWrites = run.sectorWrites.filter((w) => w.what !== "test setup" && w.what !== "sgdisk");
  expect(agentWrites.map((w) => `${w.device} sectors ${w.lba}+${w.sectors}: ${w.what}`)).toEqual(records.flatMap((r) => r.sectorWrites));
  return { records, performed };
}

describe("the plan is the whole truth: a run performs exactly the planned entries", () => {
  for (const [name, shape] of Object.entries(SHAPES)) {
    test(name, async () => {
      const { ctx, run } = world(shape);
      const { records } = await holdRunToPlan(ctx, run);
      // On this fake box: the old partitions are not there to wipe, and nothing is mounted for real.
      expect(records.filter((r) => r.outcome === "skipped").map((r) => r.head)).toContainEqual(`+ wipefs --all --force ${shape.disk}${shape.disk.includes("nvme") ? "p" : ""}1`);
      expect(run.calls).toContainEqual(["chroot", ctx.paths.targetRoot, "grub-install", "--target=i386-pc", shape.disk]);
    });
  }

  test("a layout without a resume store LV: the resume steps say why they are skipped", async () => {
    const { ctx, run } = world(SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!, (document) => {
      document.filesystems = (document.filesystems as { on: string }[]).filter((fs) => fs.on !== "lv:back");
    });
    const { performed } = await holdRunToPlan(ctx, run);
    expect(performed.get("persist-for-resume")).toEqual([]);
    expect(renderPlan(ctx)).toContain("skipped: the manifest has no unmounted LV for a resume store");
  });

  test("window A closed (staged boot): the sector writes of the staged boot code, the boot sector and the GPT are planned entries", async () => {
    const targetRoot = join(mkdtempSync(join(tmpdir(), "va-plan-run-")), "sysimage");
    const staged = stagedRun(targetRoot);
    const { run } = staged;
    // The store copies the payload by the manifest's digests: let them be the placed files'.
    const [rootfs, table] = staged.files;
    const manifest = { ...staged.ctx.manifest, payload: { ...staged.ctx.manifest.payload, rootfs: { ...staged.ctx.manifest.payload.rootfs, bytes: rootfs!.bytes, sha256: rootfs!.sha256 } } };
    const partitionTable = { ...manifest.target.partitionTable, bytes: table!.bytes, sha256: table!.sha256 };
    const ctx = { ...staged.ctx, manifest: { ...manifest, target: { ...manifest.target, partitionTable } } };
    run.respond((argv) => (argv[0] === "tar" && argv[1] === "--extract" && argv.includes("--xz") ? (layDownNewRoot(targetRoot), {}) : undefined));
    const { records } = await holdRunToPlan(ctx, run);
    const written = records.flatMap((r) => r.sectorWrites.map((w) => `${r.head} ← ${w}`));
    expect(written.some((w) => w.includes("boot sector (staged boot)"))).toBe(true);
    expect(written.some((w) => w.includes("protective MBR"))).toBe(true);
    expect(written.some((w) => w.includes("resume boot code"))).toBe(true);
  });

  test("A/B slots: the agent's slot menu, grubenv, rescue system and units are planned entries; GRUB goes to the shared /boot", async () => {
    const tiny = { kernel: new TextEncoder().encode("tiny kernel"), initramfs: new TextEncoder().encode("tiny initramfs") };
    const ref = (file: string, bytes: Uint8Array) => ({ file, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
    const { ctx, run } = world(SHAPES["SATA, GPT+LVM, ext4 root, disk 3x the layout"]!, (document) => {
      document.slots = { a: "root", b: "back" };
      document.tinySystem = { kernel: ref("tiny-linux", tiny.kernel), initramfs: ref("tiny-initrd.img", tiny.initramfs) };
    });
    writeFileSync(join(ctx.paths.oldRootMount, "etc/upd/tiny-linux"), tiny.kernel);
    writeFileSync(join(ctx.paths.oldRootMount, "etc/upd/tiny-initrd.img"), tiny.initramfs);
    run.respond((argv) => (/^grub2?-install$/.test(argv[0]!) ? (fakeGrubInstall(argv, 60), {}) : undefined));
    run.respond((argv) => (argv[0] === "chroot" && argv[2] === "dracut" ? (writeFileSync(join(ctx.paths.targetRoot, argv.at(-1)!), "initramfs"), {}) : undefined));
    run.respond((argv) => (argv[0] === "lvm" && argv[1] === "lvs" && argv.includes("vg_uuid,lv_uuid") ? { stdout: "  Vg0000-aaaa-bbbb-cccc-dddd-eeee-ffffff Lv0000-aaaa-bbbb-cccc-dddd-eeee-ffffff\n" } : undefined));
    const { performed } = await holdRunToPlan(ctx, run);
    expect(performed.get("write-bootloader-config")).toEqual([]);
    expect(renderPlan(ctx)).toContain("skipped: the agent's slot boot menu");
    const boot = join(ctx.paths.targetRoot, "boot/va");
    expect(run.calls).toContainEqual(["mount", "-t", "ext4", "/dev/sda2", boot]);
    expect(run.calls).toContainEqual(["chroot", ctx.paths.targetRoot, "grub-install", "--target=i386-pc", "--boot-directory=/boot/va", "/dev/sda"]);
    expect(readFileSync(join(ctx.paths.targetRoot, "etc/fstab"), "utf8")).toContain(`UUID=${BOOT_UUID} /boot/va ext4`);
    expect(readFileSync(join(boot, "grub/grub.cfg"), "utf8")).toContain("lvmid/Vg0000-aaaa-bbbb-cccc-dddd-eeee-ffffff/Lv0000-aaaa-bbbb-cccc-dddd-eeee-ffffff");
    expect(readFileSync(join(boot, "grub/grubenv"), "latin1")).toStartWith("# GRUB Environment Block\nORDER=A B\nA_OK=1\nA_TRY=0\nB_OK=0\nB_TRY=0\n");
    expect(readFileSync(join(boot, "va-rescue/linux"), "utf8")).toBe("tiny kernel");
    const slots = JSON.parse(readFileSync(join(boot, "va-agent/slots.json"), "utf8"));
    expect([slots.tries, slots.slots.A.state, slots.slots.A.release, slots.slots.B.state]).toEqual([3, "installed", "13.0", "empty"]);
    expect(readlinkSync(join(ctx.paths.targetRoot, "vmlinuz"))).toBe(`boot/vmlinuz-${KVER}`);
    expect(readlinkSync(join(ctx.paths.targetRoot, "etc/systemd/system/multi-user.target.wants/va-slot-commit.service"))).toBe("/etc/systemd/system/va-slot-commit.service");
  });

  test("the UUID already right: the planned choice takes its else side", async () => {
    const { ctx, run } = world(SHAPES["SATA, GPT+LVM, ext4 root, disk 3x the layout"]!, undefined, BOOT_UUID);
    const { performed } = await holdRunToPlan(ctx, run);
    expect(performed.get("fix-filesystem-uuids")!.find((r) => r.head.startsWith("if "))?.outcome).toBe("else");
  });
});
