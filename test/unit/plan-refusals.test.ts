import { describe, expect, test } from "bun:test";
import { ExitCode, LayoutError, PreflightError, ProbeError } from "../../agent/errors/errors.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { LAYOUT_BYTES, oldAppliance, referenceLayout, SHAPES, testManifest } from "./fixtures/shapes.ts";
import { refusal } from "./fixtures/refusal.ts";

const virtio = SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!;


describe("planning refuses, before anything is touched", () => {
  test("a disk smaller than the layout", () => {
    const error = refusal(() => planMigration(testManifest(), referenceLayout(), oldAppliance({ ...virtio, diskBytes: LAYOUT_BYTES - 1024 ** 2 })));
    expect(error).toBeInstanceOf(LayoutError);
    expect(error.exitCode).toBe(ExitCode.layout);
    expect(error.message).toContain("needs a disk of 6144 MiB but /dev/vda has 6143 MiB");
    expect(error.hint).toContain("Grow the appliance's virtual disk");
  });

  test("two candidate old roots holding the payload", () => {
    const machine = oldAppliance(virtio);
    machine.rootCandidates.push({ device: "/dev/vdb1", fstype: "ext4", osRelease: { PRETTY_NAME: "Other" }, hasStagedPayload: true });
    const error = refusal(() => planMigration(testManifest(), referenceLayout(), machine));
    expect(error).toBeInstanceOf(ProbeError);
    expect(error.exitCode).toBe(ExitCode.probe);
    expect(error.message).toContain("/dev/mapper/centos-root (CentOS Linux 7 (Core)), /dev/vdb1 (Other)");
  });

  test("a second OS disk without the payload is not a candidate", () => {
    const machine = oldAppliance(virtio);
    machine.rootCandidates.push({ device: "/dev/vdb1", fstype: "ext4", osRelease: { PRETTY_NAME: "Other" }, hasStagedPayload: false });
    expect(planMigration(testManifest(), referenceLayout(), machine).disk.path).toBe("/dev/vda");
  });

  test("no old root at all", () => {
    const error = refusal(() => planMigration(testManifest(), referenceLayout(), oldAppliance(virtio, { rootCandidates: [] })));
    expect(error).toBeInstanceOf(ProbeError);
    expect(error.message).toContain("no old system root found");
  });

  test("RAM too small for payload and tiny system", () => {
    const error = refusal(() => planMigration(testManifest(), referenceLayout(), oldAppliance(virtio, { ramBytes: 512 * 1024 ** 2 })));
    expect(error).toBeInstanceOf(PreflightError);
    expect(error.exitCode).toBe(ExitCode.preflight);
    expect(error.message).toContain("not enough RAM");
  });

  test("a VG named like the new one on another disk", () => {
    const machine = oldAppliance(virtio);
    machine.physicalVolumes.push({ device: "/dev/vdb1", vg: "VA" });
    const error = refusal(() => planMigration(testManifest(), referenceLayout(), machine));
    expect(error).toBeInstanceOf(PreflightError);
    expect(error.message).toContain("a volume group named VA already exists on /dev/vdb1");
  });
});
