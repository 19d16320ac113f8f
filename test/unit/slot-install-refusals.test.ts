import { rejection as refusal } from "./fixtures/refusal.ts";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { verifyBundle } from "../../agent/bundle/verify.ts";
import { BundleError, InstallError, PayloadError, PreflightError, SignatureError, StepFailedError } from "../../agent/errors/errors.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { installSetup } from "../../agent/slots/install-context.ts";
import { readInstallFacts } from "../../agent/slots/install-facts.ts";
import { rootfsChunks } from "../../agent/slots/install-bundle.ts";
import { fitEntries, mountpointsOf } from "../../agent/slots/install-fit.ts";
import { runInstall } from "../../agent/slots/install-run.ts";
import { perform } from "../../agent/steps/perform.ts";
import { slotStepContext } from "../../agent/slots/install-carry-over.ts";
import { stageBundle } from "../../agent/stage/stage.ts";
import { buildTestBundle, makeWorkspace, removeWorkspaces } from "./bundle-fixture.ts";
import { FakeRunner } from "./fake-runner.ts";
import { GIB, installContext, slotWorld, type SlotWorld } from "./slot-install-fixture.ts";

afterAll(removeWorkspaces);


/** A refusal before anything is written: no command ran, no slot state changed, nothing mounted or captured. */
function nothingWritten(world: SlotWorld, commands: string[][] = []): void {
  expect(world.run.calls).toEqual(commands);
  expect(world.state.calls).toEqual([]);
  expect(existsSync(world.setup.slotTarget)).toBe(false);
  expect(existsSync(world.setup.workDir)).toBe(false);
}

describe("va-agent install refuses before anything is written", () => {
  test("another product's image: by name, exit 5 like stage", async () => {
    const world = await slotWorld({ installed: { name: "other-appliance", release: "13.0" } });
    const error = await refusal(readInstallFacts(world.setup));
    expect(error).toBeInstanceOf(PreflightError);
    expect(error.exitCode).toBe(5);
    expect(error.message).toContain("the bundle is for va; this appliance is other-appliance 13.0");
    expect(error.hint).toContain("Get the other-appliance slot image");
    nothingWritten(world);
  });

  test("an older release: refused unless --allow-downgrade, which the plan then names", async () => {
    const world = await slotWorld({ release: "12.9" });
    const error = await refusal(readInstallFacts(world.setup));
    expect(error).toBeInstanceOf(PreflightError);
    expect(error.message).toContain("older than the installed va 13.0");
    expect(error.hint).toContain("va-agent install BUNDLE --allow-downgrade");
    nothingWritten(world);
    const allowed = await slotWorld({ release: "12.9", allowDowngrade: true });
    expect((await readInstallFacts(allowed.setup)).release).toEqual({ from: { name: "va", release: "13.0" }, to: { name: "va", release: "12.9" }, downgrade: true });
  });

  test("the same release again is not a downgrade (stage's rule)", async () => {
    const world = await slotWorld({ release: "13.0" });
    expect((await readInstallFacts(world.setup)).release.downgrade).toBe(false);
  });

  test("a migration bundle: refused by name (exit 14), never judged by the slot image's schema", async () => {
    const world = await slotWorld();
    const migration = await buildTestBundle(world.ws, "migration.tar");
    const error = await refusal(readInstallFacts({ ...world.setup, bundle: migration }));
    expect(error).toBeInstanceOf(BundleError);
    expect(error.exitCode).toBe(14);
    expect(error.message).toContain("is a migration bundle (va 13.0), not a slot image");
    expect(error.hint).toContain("va-agent install BUNDLE");
    nothingWritten(world);
  });

  test("an image signed by a key the running system does not trust (exit 13)", async () => {
    const world = await slotWorld();
    const stranger = makeWorkspace();
    const error = await refusal(readInstallFacts({ ...world.setup, keyring: stranger.keyring }));
    expect(error).toBeInstanceOf(SignatureError);
    nothingWritten(world);
  });

  test("an image larger than the inactive slot's LV: by name and size, after lvs only (exit 17)", async () => {
    const world = await slotWorld({ lvBytes: 1 * GIB });
    const error = await refusal(runInstall(await installContext(world), world.run, world.log));
    expect(error).toBeInstanceOf(InstallError);
    expect(error.exitCode).toBe(17);
    expect(error.message).toBe(`the image does not fit slot B: LV VA/back has ${GIB} bytes (1.00 GiB), va 13.1 needs ${2 * GIB} bytes (2.00 GiB, its minSlotBytes)`);
    expect(error.hint).toContain("nothing was written");
    nothingWritten(world, [["lvm", "lvs", "--units", "b", "--nosuffix", "--noheadings", "--options", "lv_size", "VA/back"]]);
  });

  test("the inactive slot mounted somewhere (by hand, or it is the running root after all): refused before lvs", async () => {
    const world = await slotWorld();
    const ictx = await installContext(world);
    const mountinfo = "22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/VA-root rw\n98 22 253:1 / /mnt/b\\040copy rw - ext4 /dev/mapper/VA-back rw\n";
    expect(mountpointsOf(mountinfo, "/dev/mapper/VA-back")).toEqual(["/mnt/b copy"]);
    const error = await refusal(perform({ ...slotStepContext(ictx), run: world.run, log: world.log }, fitEntries(ictx, () => mountinfo)));
    expect(error).toBeInstanceOf(InstallError);
    expect(error.message).toBe("slot B (LV VA/back, /dev/mapper/VA-back) is mounted at /mnt/b copy: it is in use");
    expect(world.run.calls).toEqual([]);
  });

  test("a corrupt rootfs member: refused by verify-bundle before the slot is marked (exit 6)", async () => {
    const world = await slotWorld();
    const bytes = readFileSync(world.bundle);
    bytes[bytes.length - 2048] ^= 0xff; // inside va.tar.xz: the last member, before its padding and the two end blocks
    writeFileSync(world.bundle, bytes);
    const error = await refusal(runInstall(await installContext(world), world.run, world.log));
    expect(error).toBeInstanceOf(PayloadError);
    expect(error.message).toContain("va.tar.xz is corrupt: SHA-256");
    expect(error.exitCode).toBe(6);
    nothingWritten(world, [["lvm", "lvs", "--units", "b", "--nosuffix", "--noheadings", "--options", "lv_size", "VA/back"]]);
  });

  test("without minSlotBytes the archive's own size is the least the slot must hold", async () => {
    const world = await slotWorld({ lvBytes: 1024 * 1024, manifest: (document) => delete document.minSlotBytes });
    const error = await refusal(runInstall(await installContext(world), world.run, world.log));
    expect(error.message).toContain("(0.00 GiB, the archive's");
    expect(world.state.calls).toEqual([]);
  });

  test("a system not booted from a slot (no va.slot= on the kernel command line)", async () => {
    const world = await slotWorld();
    const error = await refusal(readInstallFacts({ ...world.setup, cmdline: "root=/dev/mapper/VA-root ro" }));
    expect(error).toBeInstanceOf(InstallError);
    expect(error.message).toContain("no va.slot=");
    nothingWritten(world);
  });

  test("no slot layout record, or no shared boot line by UUID in the running fstab", async () => {
    const world = await slotWorld();
    rmSync(join(world.root, "etc/va-agent/slot-layout.json"));
    expect((await refusal(readInstallFacts(world.setup))).message).toContain("/etc/va-agent/slot-layout.json is missing");
    const other = await slotWorld();
    writeFileSync(join(other.root, "etc/fstab"), "/dev/mapper/VA-root / ext4 defaults 0 1\n/dev/vda2 /boot/va ext4 defaults 0 2\n");
    expect((await refusal(readInstallFacts(other.setup))).message).toBe("the running /etc/fstab mounts /boot/va by /dev/vda2, not by UUID");
  });

  test("what the new slot takes from the running one is missing (a unit)", async () => {
    const world = await slotWorld();
    rmSync(join(world.root, "etc/systemd/system/va-slot-commit.service"));
    const error = await refusal(readInstallFacts(world.setup));
    expect(error.message).toContain("/etc/systemd/system/va-slot-commit.service");
    nothingWritten(world);
  });
});

describe("a failure after begin-install", () => {
  test("mkfs fails: the slot stays marked bad (no finishInstall), the error says so, the captured files leave RAM", async () => {
    const world = await slotWorld();
    world.run.respond((argv) => (argv[0] === "mkfs.ext4" ? { status: 1, stderr: "mkfs.ext4: Device or resource busy" } : undefined));
    const error = await refusal(runInstall(await installContext(world), world.run, world.log));
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error.exitCode).toBe(7);
    expect(error.message).toContain("step install make-filesystem failed");
    expect(error.hint).toContain("Slot B (LV VA/back) is marked bad and is not booted; the running slot A is unchanged");
    expect(world.state.calls).toEqual(["beginInstall B"]);
    expect(existsSync(join(world.setup.workDir, "captured-config.json"))).toBe(false);
    expect(existsSync(join(world.setup.workDir, "carry-over-paths.tar"))).toBe(false);
  });
});

describe("the rootfs streamed into tar", () => {
  test("is the member of the manifest the install was planned from: another bundle in its place is refused", async () => {
    const world = await slotWorld();
    const planned = (await installContext(world)).facts.head;
    const other = await slotWorld({ release: "13.2" });
    const chunks = rootfsChunks(other.bundle, planned, { keyring: other.ws.keyring }, silentLog().progress("x"));
    await expect(chunks.next()).rejects.toThrow("changed while it was being installed");
  });

  test("arrives whole, each chunk a copy (the tar reader reuses its buffer)", async () => {
    const world = await slotWorld();
    const head = (await installContext(world)).facts.head;
    const seen: Uint8Array[] = [];
    for await (const chunk of rootfsChunks(world.bundle, head, { keyring: world.ws.keyring }, silentLog().progress("x"))) seen.push(chunk);
    expect(Buffer.concat(seen).equals(readFileSync(world.ws.files.get("va.tar.xz")!))).toBe(true);
  });
});

describe("the other side: stage and verify", () => {
  test("a slot image given to stage: refused by name before any probe (exit 14)", async () => {
    const world = await slotWorld();
    const run = new FakeRunner();
    const error = await refusal(stageBundle(run, silentLog(), { bundle: world.bundle, root: world.root, keyring: world.ws.keyring, onReport: () => {} }));
    expect(error).toBeInstanceOf(BundleError);
    expect(error.message).toContain("is a slot image (va 13.1), not a migration bundle");
    expect(error.hint).toContain("va-agent install BUNDLE");
    expect(run.calls).toEqual([]);
  });

  test("verify checks a slot image like a migration bundle", async () => {
    const world = await slotWorld();
    const report = await verifyBundle(world.bundle, { keyring: world.ws.keyring });
    expect(report.ok).toBe(true);
    expect(report.product).toEqual({ name: "va", release: "13.1" });
    expect(report.members.map((m) => m.role)).toEqual(["payload.rootfs"]);
  });
});

test("installSetup: the keyring is the running root's unless given", () => {
  expect(installSetup({ bundle: "/b.tar", cmdline: "" })).toMatchObject({ root: "/", keyring: "/etc/va-agent/keys", workDir: "/run/va-agent/install", slotTarget: "/run/va-agent/slot-target", allowDowngrade: false });
});
