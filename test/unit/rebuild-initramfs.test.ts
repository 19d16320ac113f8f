import { runAlone } from "./step-hooks.ts";
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectDistro } from "../../agent/distro/adapter.ts";
import { VerificationError } from "../../agent/errors/errors.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { rebuildInitramfs } from "../../agent/steps/rebuild-initramfs.ts";
import type { StepContext } from "../../agent/steps/step.ts";
import { FakeRunner } from "./fake-runner.ts";
import { DEBIAN_13 } from "./fixtures/distro.ts";
import { manifestDocument, oldAppliance, referenceLayout, SHAPES } from "./fixtures/shapes.ts";

const KVER = "6.12.0-va";

function context(rebuild: boolean, shipsInitramfs: boolean): { ctx: StepContext; run: FakeRunner } {
  const root = mkdtempSync(join(tmpdir(), "va-initramfs-"));
  for (const dir of ["etc", "boot", `lib/modules/${KVER}`, "usr/bin"]) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, "etc/os-release"), DEBIAN_13);
  writeFileSync(join(root, "usr/bin/dracut"), "");
  writeFileSync(join(root, `boot/vmlinuz-${KVER}`), "");
  if (shipsInitramfs) writeFileSync(join(root, `boot/initrd.img-${KVER}`), "");
  const manifest = parseManifest({ ...manifestDocument(), bootloader: { kind: "grub-bios", rebuildInitramfs: rebuild } });
  const plan = planMigration(manifest, referenceLayout(), oldAppliance(SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!));
  const run = new FakeRunner();
  const paths = defaultPaths(mkdtempSync(join(tmpdir(), "va-work-")), root);
  return { ctx: { manifest, plan, paths, run, log: silentLog(), distro: detectDistro(root) }, run };
}

test("rebuilds the initramfs of each installed kernel in the chroot by default", async () => {
  const { ctx, run } = context(true, false);
  await runAlone(rebuildInitramfs, ctx);
  expect(run.calls).toEqual([["chroot", ctx.paths.targetRoot, "dracut", "--force", "--kver", KVER, `/boot/initrd.img-${KVER}`]]);
});

test("keeps the payload's generic initramfs when the manifest says so", async () => {
  const { ctx, run } = context(false, true);
  await runAlone(rebuildInitramfs, ctx);
  expect(run.calls).toEqual([]);
});

test("refuses to skip the rebuild when the payload has no initramfs", async () => {
  const { ctx } = context(false, false);
  await expect(runAlone(rebuildInitramfs, ctx)).rejects.toBeInstanceOf(VerificationError);
  await expect(runAlone(rebuildInitramfs, ctx)).rejects.toThrow(`no initramfs for kernel ${KVER}`);
});
