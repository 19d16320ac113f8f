import { commandsOf, withHook } from "./step-hooks.ts";
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { cpSync, symlinkSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resumeGrubCfg } from "../../agent/bootloader/resume-entry.ts";
import { PayloadError, StepFailedError, type VaError } from "../../agent/errors/errors.ts";
import { Journal } from "../../agent/journal/journal.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { defaultPaths, type Paths } from "../../agent/paths.ts";
import { planMigration, type MigrationPlan } from "../../agent/plan/plan.ts";
import { armResumeBoot, resumeBoot } from "../../agent/steps/arm-resume-boot.ts";
import { MIGRATION_STEPS } from "../../agent/steps/index.ts";
import { persistForResume } from "../../agent/steps/persist-for-resume.ts";
import { removeResumeEntry } from "../../agent/steps/remove-resume-entry.ts";
import type { Step, StepContext } from "../../agent/steps/step.ts";
import { runMigration } from "../../agent/workflow/migrate.ts";
import { prepare } from "../../agent/workflow/prepare.ts";
import { encodeStagedMap, restoreFromStagedMap, stagedMapArg } from "../../agent/resume/staged-map.ts";
import { findResumeStore, readStoreMeta, storeDir, storeJournalPath } from "../../agent/resume/store.ts";
import { FakeRunner } from "./fake-runner.ts";
import { fakeGrubInstall } from "./fixtures/grub.ts";
import { BOOT_UUID, layDownNewRoot } from "./fixtures/new-root.ts";
import { lsblkJson, manifestDocument, oldAppliance, referenceLayout, SHAPES } from "./fixtures/shapes.ts";
import type { BlockDevice } from "../../agent/machine/machine.ts";

const VIRTIO = SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!;
const NVME = SHAPES["NVMe, MBR+LVM centos, xfs root, disk 3x the layout"]!;
const stepNames = MIGRATION_STEPS.map((s) => s.name);
const PERSIST_INDEX = stepNames.indexOf("persist-for-resume");
/** A resume reads no staged manifest: a keyring that does not exist proves it is never consulted. */
const RESUME_TRUST = { keyring: "/nonexistent/keyring", insecure: false, allowDowngrade: false };

const ref = (data: Uint8Array, file: string) => ({ file, bytes: data.length, sha256: createHash("sha256").update(data).digest("hex") });
const bytes = (text: string) => new TextEncoder().encode(text);

/** The staged members: a pretend rootfs, tiny kernel and initramfs, each with its digest in the manifest. */
function stagedPayload() {
  const members = { "va.tar.xz": bytes("pretend this is va.tar.xz"), "vmlinuz": bytes("tiny kernel"), "initramfs.img": bytes("tiny initramfs") };
  const document = manifestDocument();
  (document.payload as { rootfs: Record<string, unknown> }).rootfs = { ...ref(members["va.tar.xz"], "va.tar.xz"), compression: "xz" };
  document.tinySystem = { kernel: ref(members.vmlinuz, "vmlinuz"), initramfs: ref(members["initramfs.img"], "initramfs.img") };
  return { manifest: parseManifest(document), members };
}

/** The virtio disk after partition-disk: the layout's GPT disk GUID is its partition table id. */
function migratedDisk(path: string, extra: Partial<BlockDevice> = {}): BlockDevice {
  return { path, type: "disk", sizeBytes: VIRTIO.diskBytes, transport: "virtio", ptuuid: referenceLayout().diskGuid, ...extra };
}

/** The disk (new root and the store's LV) outlives a power cut; the tiny system's RAM (workDir) does not. */
function machine(disks: () => BlockDevice[] = () => [migratedDisk("/dev/vda")]) {
  const dir = mkdtempSync(join(tmpdir(), "va-power-cut-"));
  const targetRoot = join(dir, "sysimage");
  let boot = 0;
  const tinySystem = () => {
    boot++;
    const paths = defaultPaths(join(dir, `run-${boot}`), targetRoot);
    // arm-resume-boot mounts the new /boot on its own: the same filesystem as the target's /boot.
    mkdirSync(paths.workDir, { recursive: true });
    mkdirSync(join(targetRoot, "boot"), { recursive: true });
    symlinkSync(join(targetRoot, "boot"), join(paths.workDir, "resume-boot"));
    const run = new FakeRunner()
      .respond((argv) => (argv[0] === "tar" ? (layDownNewRoot(targetRoot), {}) : undefined))
      .respond((argv) => (/^grub2?-install$/.test(argv[0]!) ? (fakeGrubInstall(argv, 60), {}) : undefined))
      .respond((argv) => (argv[0] === "lvm" && argv[1] === "vgs" ? { status: 5 } : undefined))
      .respond((argv) => (argv[0] === "lvm" && argv[1] === "lvs" ? { stdout: "  VA|root\n  VA|back\n  VA|data\n" } : undefined))
      .respond((argv) => (argv[0] === "blkid" && argv[2] === "TYPE" ? { stdout: "ext4\n" } : undefined))
      .respond((argv) => (argv[0] === "blkid" && argv[1] === "-s" ? { stdout: `${BOOT_UUID}\n` } : undefined))
      .respond((argv) => (argv[0] === "lsblk" ? { stdout: lsblkJson(disks()) } : undefined));
    return { paths, run };
  };
  return { dir, targetRoot, tinySystem };
}

function firstBoot(m: ReturnType<typeof machine>) {
  const { manifest, members } = stagedPayload();
  const { paths, run } = m.tinySystem();
  const staged = join(paths.oldRootMount, "etc/upd");
  mkdirSync(staged, { recursive: true });
  for (const [name, data] of Object.entries(members)) writeFileSync(join(staged, name), data);
  const plan = planMigration(manifest, referenceLayout(), oldAppliance(VIRTIO));
  const ctx: StepContext = { manifest, plan, paths, run, log: silentLog() };
  return { ctx, run };
}

/**
 * The power goes off inside `target`: whatever the journal held on disk when the step began is what
 * survives (the step is left "running"); the failure record a thrown error would write never happens.
 */
function cutPowerIn(target: Step, paths: Paths): { steps: Step[]; restoreDisk: () => void } {
  let onDisk: string | undefined;
  const steps = MIGRATION_STEPS.map((step) =>
    step !== target
      ? step
      : withHook(step, () => {
          onDisk = existsSync(storeJournalPath(paths)) ? readFileSync(storeJournalPath(paths), "utf8") : undefined;
          throw new Error(`power cut during ${step.name}`);
        }),
  );
  return { steps, restoreDisk: () => onDisk !== undefined && writeFileSync(storeJournalPath(paths), onDisk) };
}

/** RAM is gone; the resume LV is still there and the next tiny system mounts it at its own resume dir. */
function reboot(m: ReturnType<typeof machine>, before: Paths) {
  const next = m.tinySystem();
  if (existsSync(before.resumeDir)) cpSync(before.resumeDir, next.paths.resumeDir, { recursive: true });
  rmSync(before.workDir, { recursive: true, force: true });
  return next;
}

describe("the resume steps' commands", () => {
  const plan = (shape: typeof VIRTIO): { manifest: ReturnType<typeof stagedPayload>["manifest"]; plan: MigrationPlan; paths: Paths } => {
    const { manifest } = stagedPayload();
    return { manifest, plan: planMigration(manifest, referenceLayout(), oldAppliance(shape)), paths: defaultPaths() };
  };

  test("they come right after the resume path's filesystems, before the others; the boot sector switches to the new system after its grub.cfg exists", () => {
    expect(stepNames.slice(stepNames.indexOf("make-resume-filesystems"), stepNames.indexOf("make-resume-filesystems") + 5)).toEqual([
      "make-resume-filesystems",
      "persist-for-resume",
      "arm-resume-boot",
      "make-filesystems",
      "mount-target",
    ]);
    expect(stepNames.slice(-6)).toEqual(["write-bootloader-config", "write-slot-boot", "install-bootloader", "record-result", "remove-resume-entry", "unmount-target"]);
  });

  test("virtio: the store on VA-back, GRUB from the tiny system on /dev/vda with /boot/va-resume as its directory", () => {
    const ctx = plan(VIRTIO);
    expect(ctx.plan.resume).toEqual({ lv: "back", device: "/dev/mapper/VA-back", type: "ext4" });
    expect(commandsOf(persistForResume, ctx)).toEqual([["mount", "-t", "ext4", "/dev/mapper/VA-back", "/run/va-agent/resume"], ["sync"], ["sync"]]);
    const grubInstall = ["grub-install", "--target=i386-pc", "--boot-directory=/run/va-agent/resume-boot/va-resume", "--force-file-id", "--fonts=", "--locales=", "--themes="];
    // the core image goes before the first partition; grub-install embeds it only when it does not fit there
    expect(commandsOf(armResumeBoot, ctx)).toEqual([
      ["mount", "-t", "ext4", "/dev/vda2", "/run/va-agent/resume-boot"],
      ["sync"],
      [...grubInstall, "--no-bootsector", "/dev/vda"],
      ["sync"],
      [...grubInstall, "/dev/vda"],
      ["sync"],
      ["umount", "/run/va-agent/resume-boot"],
    ]);
    expect(armResumeBoot.requires).toBeUndefined();
    expect(commandsOf(removeResumeEntry, ctx)).toEqual([["umount", "/run/va-agent/resume"], ["sync"]]);
  });

  test("NVMe: the same, on /dev/nvme0n1", () => {
    const ctx = plan(NVME);
    expect(commandsOf(persistForResume, ctx)).toEqual([["mount", "-t", "ext4", "/dev/mapper/VA-back", "/run/va-agent/resume"], ["sync"], ["sync"]]);
    expect(commandsOf(armResumeBoot, ctx)[2]).toEqual([
      "grub-install", "--target=i386-pc", "--boot-directory=/run/va-agent/resume-boot/va-resume", "--force-file-id", "--fonts=", "--locales=", "--themes=", "--no-bootsector", "/dev/nvme0n1",
    ]);
  });

  test("no unmounted LV in the manifest: no store, the steps plan nothing", () => {
    const document = manifestDocument();
    document.filesystems = (document.filesystems as { on: string }[]).filter((fs) => fs.on !== "lv:back");
    const manifest = parseManifest(document);
    const ctx = { manifest, plan: planMigration(manifest, referenceLayout(), oldAppliance(VIRTIO)), paths: defaultPaths() };
    expect(ctx.plan.resume).toBeNull();
    expect(commandsOf(persistForResume, ctx)).toEqual([]);
    expect(commandsOf(armResumeBoot, ctx)).toEqual([]);
  });
});

describe("the resume entry's grub.cfg", () => {
  test("one entry, the tiny kernel with the tiny command line, consoles and va.after carried, root found by file", () => {
    const { manifest } = stagedPayload();
    const ctx = { manifest, plan: planMigration(manifest, referenceLayout(), oldAppliance(VIRTIO)), paths: defaultPaths() };
    const cfg = resumeGrubCfg(resumeBoot(ctx, "BOOT_IMAGE=/va-agent/tiny-linux console=tty0 console=ttyS0,115200 rd.break=pre-mount va.after=poweroff quiet"));
    expect(cfg).toBe(
      [
        "# va-agent: the migration to the new OS is not finished. This entry restarts it after a power cut.",
        "# Written by the step arm-resume-boot; replaced when the new system's boot loader is installed.",
        "serial --unit=0 --speed=115200",
        "terminal_input serial console",
        "terminal_output serial console",
        "set default=0",
        "set timeout=2",
        "insmod part_gpt",
        "insmod part_msdos",
        "insmod ext2",
        "search --no-floppy --file --set=root /va-resume/tiny-linux",
        "menuentry 'va-agent migration (resume)' --id va-agent-resume {",
        "  linux /va-resume/tiny-linux console=tty0 console=ttyS0,115200 va.after=poweroff rd.break=pre-mount rd.lvm=0 rd.md=0 rd.dm=0 rd.luks=0 rd.udev.log_level=3 systemd.show_status=0 quiet panic=10 va.mode=migrate",
        "  initrd /va-resume/tiny-initrd.img",
        "}",
        "",
      ].join("\n"),
    );
    expect(cfg).not.toContain("fs-uuid");
    expect(cfg.match(/menuentry/g)).toHaveLength(1);
  });

  test("/boot on the root LV: paths under /boot, lvm module", () => {
    const { manifest } = stagedPayload();
    const document = JSON.parse(JSON.stringify(manifest));
    document.filesystems = document.filesystems.filter((fs: { mountpoint?: string }) => fs.mountpoint !== "/boot");
    const noBoot = parseManifest(document);
    const ctx = { manifest: noBoot, plan: planMigration(noBoot, referenceLayout(), oldAppliance(VIRTIO)), paths: defaultPaths() };
    const cfg = resumeGrubCfg(resumeBoot(ctx, ""));
    expect(cfg).toContain("insmod lvm\ninsmod ext2\nsearch --no-floppy --file --set=root /boot/va-resume/tiny-linux");
    expect(cfg).toContain("  initrd /boot/va-resume/tiny-initrd.img");
    expect(cfg).not.toContain("serial");
  });
});

describe("a full run with the resume steps", () => {
  test("the store is filled, the resume kit written, then both removed once the new boot loader is in", async () => {
    const m = machine();
    const { ctx, run } = firstBoot(m);
    let storeDuringRun: ReturnType<typeof readStoreMeta>;
    let kitDuringRun: string[] = [];
    const steps = MIGRATION_STEPS.map((step) =>
      step.name !== "extract-rootfs"
        ? step
        : withHook(step, (c: StepContext) => {
            storeDuringRun = readStoreMeta(storeDir(c.paths));
            kitDuringRun = ["tiny-linux", "tiny-initrd.img", "grub/grub.cfg"].filter((f) => existsSync(join(m.targetRoot, "boot/va-resume", f)));
          }),
    );
    await runMigration(ctx, Journal.open(ctx.paths.journalFile), steps);
    expect(storeDuringRun!.files.map((f) => f.file).sort()).toEqual(["initramfs.img", "manifest.json", "plan.json", "va.tar.xz", "vmlinuz"]);
    expect(storeDuringRun!.device).toBe("/dev/mapper/VA-back");
    expect(kitDuringRun).toEqual(["tiny-linux", "tiny-initrd.img", "grub/grub.cfg"]);
    expect(readFileSync(join(ctx.paths.payloadDir, "vmlinuz"), "utf8")).toBe("tiny kernel");
    const grubInstalls = run.calls.filter((argv) => argv.includes("grub-install") || argv[0] === "grub2-install" || argv[0] === "grub-install");
    expect(grubInstalls.map((argv) => argv[0])).toEqual([expect.stringMatching(/^grub2?-install$/), "chroot"]);
    const order = (predicate: (argv: string[]) => boolean) => run.calls.findIndex(predicate);
    expect(order((argv) => argv.includes("grub-mkconfig"))).toBeLessThan(order((argv) => argv[0] === "chroot" && argv.includes("grub-install")));
    // Window B closed: the resume core.img sits before the first partition, not in the BIOS boot
    // partition the new system's grub-install writes, and the boot sector points at it until then.
    expect(run.sectorWrites.map((w) => [w.what, w.lba])).toEqual([["resume boot code", 34], ["boot sector (resume entry)", 0]]);
    expect(run.sectorWrites[1]!.afterCommands).toBeLessThan(order((argv) => argv[0] === "chroot" && argv.includes("grub-install")));
    expect(existsSync(join(m.targetRoot, "boot/va-resume"))).toBe(false);
    expect(existsSync(storeDir(ctx.paths))).toBe(false);
    const journal = Journal.open(ctx.paths.journalFile);
    expect(journal.entries.map((e) => e.step)).toEqual(stepNames);
    expect(journal.attachedTo).not.toContain(storeJournalPath(ctx.paths));
  });
});

describe("resume after a power cut, from the store alone (RAM lost)", () => {
  for (const [index, step] of MIGRATION_STEPS.entries()) {
    if (index <= PERSIST_INDEX || step.name === "unmount-target") continue;
    test(`power cut in ${step.name}: the next boot finds the store and starts again at ${step.name}`, async () => {
      const m = machine();
      const { ctx } = firstBoot(m);
      const cut = cutPowerIn(step, ctx.paths);
      await expect(runMigration(ctx, Journal.open(ctx.paths.journalFile), cut.steps)).rejects.toThrow(`power cut during ${step.name}`);
      cut.restoreDisk();

      const { paths, run } = reboot(m, ctx.paths);
      expect(existsSync(paths.journalFile)).toBe(false);
      const prepared = await prepare(run, silentLog(), paths, "/etc/upd", RESUME_TRUST);
      expect(prepared.resumed).toBe(true);
      expect(run.calls).toContainEqual(["mount", "-o", "ro", "-t", "ext4", "/dev/mapper/VA-back", paths.resumeDir]);
      expect(run.calls).toContainEqual(["mount", "-o", "remount,rw", paths.resumeDir]);
      // Only what the remaining steps read comes back to RAM: the archive until extract-rootfs is done.
      if (index <= stepNames.indexOf("extract-rootfs")) expect(readFileSync(join(paths.payloadDir, "va.tar.xz"), "utf8")).toBe("pretend this is va.tar.xz");
      else expect(existsSync(join(paths.payloadDir, "va.tar.xz"))).toBe(false);

      const journal = Journal.open(paths.journalFile);
      const before = journal.entries.length;
      expect(journal.latest(step.name)?.outcome).toBe("running");
      run.calls.length = 0;
      const resumed: StepContext = { ...prepared, paths, run, log: silentLog() };
      await runMigration(resumed, journal);
      const rerun = Journal.open(paths.journalFile).entries.slice(before);
      expect(rerun.map((e) => e.step)).toEqual(stepNames.slice(index));
      expect(rerun.every((e) => e.outcome === "done")).toBe(true);
      const earlier = ["sgdisk", "pvcreate", ...(index > stepNames.indexOf("make-filesystems") ? ["mkfs.ext4"] : [])];
      for (const tool of earlier) expect(run.calls.flat()).not.toContain(tool);
      // RAM was lost, so nothing is mounted: the new root must be mounted before anything writes into it.
      const rootMounted = run.calls.findIndex((argv) => argv[0] === "mount" && argv.at(-1) === paths.targetRoot);
      const firstWrite = run.calls.findIndex((argv) => argv[0] === "tar" || argv[0] === "chroot");
      if (firstWrite !== -1) expect(rootMounted).toBeGreaterThan(-1);
      if (firstWrite !== -1) expect(rootMounted).toBeLessThan(firstWrite);
    });
  }

  test("power cut in unmount-target: the store is gone (the boot sector already starts the new system)", async () => {
    const m = machine();
    const { ctx } = firstBoot(m);
    const cut = cutPowerIn(MIGRATION_STEPS.at(-1)!, ctx.paths);
    await expect(runMigration(ctx, Journal.open(ctx.paths.journalFile), cut.steps)).rejects.toThrow("power cut");
    const { paths, run } = reboot(m, ctx.paths);
    expect(await findResumeStore(run, silentLog(), paths)).toBeUndefined();
  });

  test("a store file that changed on disk is refused while being restored", async () => {
    const m = machine();
    const { ctx } = firstBoot(m);
    const cut = cutPowerIn(MIGRATION_STEPS.find((s) => s.name === "extract-rootfs")!, ctx.paths);
    await expect(runMigration(ctx, Journal.open(ctx.paths.journalFile), cut.steps)).rejects.toThrow("power cut");
    const { paths, run } = reboot(m, ctx.paths);
    writeFileSync(join(storeDir(paths), "va.tar.xz"), "pretend this is va.tar.xX");
    await expect(prepare(run, silentLog(), paths, "/etc/upd", RESUME_TRUST)).rejects.toThrow(/va.tar.xz is corrupt/);
  });
});

describe("finding the resume store without a manifest", () => {
  test("every VG activated, LVs tried back first, the first complete store wins and stays mounted", async () => {
    const m = machine();
    const { paths, run } = m.tinySystem();
    mkdirSync(storeDir(paths), { recursive: true });
    for (const f of ["manifest.json", "plan.json"]) writeFileSync(join(storeDir(paths), f), "{}");
    writeFileSync(join(storeDir(paths), "store.json"), JSON.stringify({ format: 1, createdAt: "x", device: "/dev/mapper/VA-back", files: [{ file: "manifest.json" }, { file: "plan.json" }] }));
    expect(await findResumeStore(run, silentLog(), paths)).toEqual({ device: "/dev/mapper/VA-back", fstype: "ext4" });
    expect(run.calls[0]).toEqual(["lvm", "vgchange", "--activate", "y"]);
    expect(run.calls.filter((argv) => argv[0] === "mount")).toEqual([["mount", "-o", "ro", "-t", "ext4", "/dev/mapper/VA-back", paths.resumeDir]]);
    expect(run.calls).not.toContainEqual(["umount", paths.resumeDir]);
  });

  test("no commit marker (store.json): not a store; every candidate is unmounted again", async () => {
    const m = machine();
    const { paths, run } = m.tinySystem();
    mkdirSync(storeDir(paths), { recursive: true });
    for (const f of ["manifest.json", "plan.json", "va.tar.xz"]) writeFileSync(join(storeDir(paths), f), "{}");
    expect(await findResumeStore(run, silentLog(), paths)).toBeUndefined();
    expect(run.calls.filter((argv) => argv[0] === "mount").map((argv) => argv[5])).toEqual(["/dev/mapper/VA-back", "/dev/mapper/VA-root", "/dev/mapper/VA-data"]);
    expect(run.calls.filter((argv) => argv[0] === "umount")).toHaveLength(3);
  });

  test("LVs that hold no ext4/xfs (swap, old centos VG) are not mounted", async () => {
    const m = machine();
    const { paths } = m.tinySystem();
    const run = new FakeRunner()
      .respond((argv) => (argv[0] === "lvm" && argv[1] === "lvs" ? { stdout: "  centos|swap\n" } : undefined))
      .respond((argv) => (argv[0] === "blkid" ? { stdout: "swap\n" } : undefined));
    expect(await findResumeStore(run, silentLog(), paths)).toBeUndefined();
    expect(run.calls.some((argv) => argv[0] === "mount")).toBe(false);
  });
});

/** What no hint may say once the point of no return is passed: the old system is gone. */
const FALSE_CLAIMS = /not changed|unchanged|nothing (was|is|has been) changed|old system (is|was|stays) (intact|untouched|as it was)|stage (the bundle )?again|va-agent stage/i;

function expectTruthfulAfterPointOfNoReturn(hint: string): void {
  expect(hint).not.toMatch(FALSE_CLAIMS);
  expect(hint).toContain("mid-migration");
  expect(hint).toContain("cannot boot again");
}

describe("issue 13 item 6: one damaged file in the resume store blocks every resume, with a hint that is false after the point of no return", () => {
  async function cutAndReboot(stepName: string) {
    const m = machine();
    const { ctx } = firstBoot(m);
    const cut = cutPowerIn(MIGRATION_STEPS.find((s) => s.name === stepName)!, ctx.paths);
    await expect(runMigration(ctx, Journal.open(ctx.paths.journalFile), cut.steps)).rejects.toThrow("power cut");
    cut.restoreDisk();
    return reboot(m, ctx.paths);
  }

  test("the payload archive damaged in the store after extract-rootfs is done: the resume goes on and the migration finishes", async () => {
    const { paths, run } = await cutAndReboot("fix-filesystem-uuids");
    writeFileSync(join(storeDir(paths), "va.tar.xz"), "pretend this is va.tar.xX");
    const prepared = await prepare(run, silentLog(), paths, "/etc/upd", RESUME_TRUST);
    expect(prepared.resumed).toBe(true);
    expect(existsSync(join(paths.payloadDir, "va.tar.xz"))).toBe(false);
    const journal = Journal.open(paths.journalFile);
    await runMigration({ ...prepared, paths, run, log: silentLog()}, journal);
    expect(Journal.open(paths.journalFile).result?.outcome).toBe("migrated");
  });

  test("the tiny kernel damaged in the store after arm-resume-boot is done: not read, the resume goes on", async () => {
    const { paths, run } = await cutAndReboot("mount-target");
    writeFileSync(join(storeDir(paths), "vmlinuz"), "tiny kernex");
    const prepared = await prepare(run, silentLog(), paths, "/etc/upd", RESUME_TRUST);
    expect(readFileSync(join(paths.payloadDir, "va.tar.xz"), "utf8")).toBe("pretend this is va.tar.xz");
    expect(existsSync(join(paths.payloadDir, "vmlinuz"))).toBe(false);
    await runMigration({ ...prepared, paths, run, log: silentLog()}, Journal.open(paths.journalFile));
    expect(Journal.open(paths.journalFile).result?.outcome).toBe("migrated");
  });

  test("the payload archive damaged before extract-rootfs: refused with a hint that says where the disk stands and names the file to put back", async () => {
    const { paths, run } = await cutAndReboot("extract-rootfs");
    writeFileSync(join(storeDir(paths), "va.tar.xz"), "pretend this is va.tar.xX");
    const error = await prepare(run, silentLog(), paths, "/etc/upd", RESUME_TRUST).then(
      () => undefined,
      (e: unknown) => e as PayloadError,
    );
    expect(error).toBeInstanceOf(PayloadError);
    expect(error!.message).toContain("va.tar.xz is corrupt");
    expectTruthfulAfterPointOfNoReturn(error!.hint);
    expect(error!.hint).toContain(join(storeDir(paths), "va.tar.xz"));
    expect(error!.hint).toContain("extract-rootfs still reads it");
    expect(error!.hint).toContain("reinstall");
  });

  test("the store without its journal: the hint does not claim the old system is intact", async () => {
    const { paths, run } = await cutAndReboot("extract-rootfs");
    rmSync(storeJournalPath(paths));
    const error = await prepare(run, silentLog(), paths, "/etc/upd", RESUME_TRUST).then(
      () => undefined,
      (e: unknown) => e as VaError,
    );
    expect(error?.message).toContain("has no journal");
    expectTruthfulAfterPointOfNoReturn(error!.hint);
  });

  test("a staged file damaged on the disk when the staged boot code booted: the hint says the disk is mid-migration", async () => {
    const m = machine();
    const { ctx } = firstBoot(m);
    const bytes = Buffer.from("pretend this is va.tar.xz");
    const file = { file: "va.tar.xz", bytes: bytes.length, sha256: createHash("sha256").update("something else").digest("hex"), role: "payload" as const, ranges: [{ start: 5000, count: 1 }] };
    const plan = { ...ctx.plan, stagedBoot: { plan: { files: [file] } } } as unknown as MigrationPlan;
    const map = encodeStagedMap(plan, ctx.manifest);
    await ctx.run.writeSectors("/dev/vda", 4000, Buffer.concat([map, Buffer.alloc(512 - (map.length % 512))]), "staged map");
    await ctx.run.writeSectors("/dev/vda", 5000, Buffer.concat([bytes, Buffer.alloc(512 - bytes.length)]), "staged file");
    const cmdline = stagedMapArg({ disk: "/dev/vda", lba: 4000, bytes: map.length, sha256: createHash("sha256").update(map).digest("hex") });
    const error = await restoreFromStagedMap(ctx.run, silentLog(), ctx.paths, cmdline).then(
      () => undefined,
      (e: unknown) => e as VaError,
    );
    expect(error).toBeInstanceOf(PayloadError);
    expectTruthfulAfterPointOfNoReturn(error!.hint);
  });

  test("every error hint produced after the point of no return says where the disk stands, never that the old system is unchanged", async () => {
    const ponr = stepNames.indexOf("wipe-old-system");
    const hints: Array<{ step: string; how: string; hint: string }> = [];
    // inner hints of every kind: CommandError, ToolMissingError, PayloadError, and a plain crash
    type How = "command fails" | "tool missing" | "internal error" | "payload gone from RAM" | "captured config unreadable";
    const failIn = async (step: Step, how: How): Promise<boolean> => {
      const m = machine();
      const { ctx, run } = firstBoot(m);
      let failing = false;
      run.respond((argv) => (failing && how === "command fails" ? { status: 1, stderr: `${argv[0]}: failed` } : failing && how === "tool missing" ? { status: 127 } : undefined));
      const steps = MIGRATION_STEPS.map((s) =>
        s !== step
          ? s
          : withHook(s, (c: StepContext) => {
              failing = true;
              if (how === "internal error") throw new Error("unexpected");
              if (how === "payload gone from RAM") rmSync(c.paths.payloadDir, { recursive: true, force: true });
              if (how === "captured config unreadable") writeFileSync(join(c.paths.payloadDir, "captured-config.json"), "{ not json");
            }),
      );
      const error = await runMigration(ctx, Journal.open(ctx.paths.journalFile), steps).then(
        () => undefined,
        (e: unknown) => e as VaError,
      );
      if (!error) return false; // the step ran no command that may fail
      expect(error).toBeInstanceOf(StepFailedError);
      // (a payload removed from RAM may only stop a later step that reads it)
      const failed = (error as StepFailedError).step;
      hints.push({ step: failed, how, hint: error.hint });
      expect(Journal.open(ctx.paths.journalFile).latest(failed)?.error?.hint).toBe(error.hint);
      return true;
    };
    for (const [i, step] of MIGRATION_STEPS.slice(ponr).entries()) {
      if (!(await failIn(step, "command fails"))) await failIn(step, "internal error");
      if (i % 6 === 0) await failIn(step, "tool missing");
      if (step.reads) await failIn(step, "payload gone from RAM");
    }
    await failIn(MIGRATION_STEPS[ponr]!, "internal error");
    await failIn(MIGRATION_STEPS.find((s) => s.name === "carry-over-config")!, "captured config unreadable");
    // every step past the point of no return failed at least one way
    expect(new Set(hints.map((h) => h.step))).toEqual(new Set(stepNames.slice(ponr)));
    expect(new Set(hints.map((h) => h.how))).toEqual(new Set(["command fails", "tool missing", "internal error", "payload gone from RAM", "captured config unreadable"]));
    for (const { hint } of hints) expectTruthfulAfterPointOfNoReturn(hint);
  }, 60_000);
});

describe("issue 13 item 3: resume writes to the disk by its kernel name from the previous boot", () => {
  const extract = MIGRATION_STEPS.find((s) => s.name === "extract-rootfs")!;
  // Another disk of the same size, without the layout's GPT: after the cut it enumerates first.
  const otherDisk = migratedDisk("/dev/vda", { ptuuid: "5d4c3b2a" });

  test("a store resume where lsblk now lists the target as /dev/vdb and another disk as /dev/vda: every command names /dev/vdb", async () => {
    let swapped = false;
    const m = machine(() => (swapped ? [otherDisk, migratedDisk("/dev/vdb")] : [migratedDisk("/dev/vda")]));
    const { ctx } = firstBoot(m);
    const cut = cutPowerIn(extract, ctx.paths);
    await expect(runMigration(ctx, Journal.open(ctx.paths.journalFile), cut.steps)).rejects.toThrow("power cut");
    cut.restoreDisk();
    expect(readStoreMeta(storeDir(ctx.paths))?.disk).toEqual({ path: "/dev/vda", identity: { sizeBytes: VIRTIO.diskBytes, partitionTableIds: [referenceLayout().diskGuid] } });

    swapped = true;
    const { paths, run } = reboot(m, ctx.paths);
    const prepared = await prepare(run, silentLog(), paths, "/etc/upd", RESUME_TRUST);
    expect(prepared.plan.disk.path).toBe("/dev/vdb");
    expect(JSON.parse(readFileSync(join(paths.workDir, "plan.json"), "utf8")).disk.path).toBe("/dev/vdb");
    const journal = Journal.open(paths.journalFile);
    run.calls.length = 0;
    await runMigration({ ...prepared, paths, run, log: silentLog() }, journal);
    // The steps done before the cut are still skipped under the new name: the journal's digests do not depend on it.
    expect(journal.entries.filter((e) => e.step === "partition-disk")).toHaveLength(1);
    const named = [...run.calls.flat(), ...run.sectorWrites.map((w) => w.device)].filter((arg) => arg.startsWith("/dev/vd"));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((arg) => !arg.startsWith("/dev/vdb"))).toEqual([]);
    expect(run.calls).toContainEqual(["chroot", m.targetRoot, "grub-install", "--target=i386-pc", "/dev/vdb"]);
  });

  for (const [what, disks] of [
    ["no disk matches (the target disk is not attached)", [otherDisk]],
    ["two disks match (a clone of it)", [migratedDisk("/dev/vda"), migratedDisk("/dev/vdb")]],
  ] as const) {
    test(`${what}: refused before any command that writes`, async () => {
      let rebooted = false;
      const m = machine(() => (rebooted ? [...disks] : [migratedDisk("/dev/vda")]));
      const { ctx } = firstBoot(m);
      const cut = cutPowerIn(extract, ctx.paths);
      await expect(runMigration(ctx, Journal.open(ctx.paths.journalFile), cut.steps)).rejects.toThrow("power cut");
      rebooted = true;
      const { paths, run } = reboot(m, ctx.paths);
      const error = await prepare(run, silentLog(), paths, "/etc/upd", RESUME_TRUST).then(() => undefined, (e: unknown) => e as VaError);
      expect(error?.name).toBe("TargetDiskError");
      expect(error?.message).toContain("it was /dev/vda");
      expectTruthfulAfterPointOfNoReturn(error!.hint);
      // Only the store search (read-only mounts, LV activation) and lsblk ran: no remount rw, no tmpfs resize, no sector.
      const readOnly = (argv: string[]) => argv[0] === "lsblk" || argv[0] === "blkid" || argv[0] === "umount" || (argv[0] === "lvm" && ["vgchange", "lvs"].includes(argv[1]!)) || (argv[0] === "mount" && argv[2] === "ro");
      expect(run.calls.filter((argv) => !readOnly(argv))).toEqual([]);
      expect(run.sectorWrites).toEqual([]);
      expect(existsSync(paths.journalFile)).toBe(false);
    });
  }
});
