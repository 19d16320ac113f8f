import { describe, expect, test } from "bun:test";
import { ExitCode, ManifestError } from "../../agent/errors/errors.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { manifestDocument } from "./fixtures/shapes.ts";

function problemsOf(document: unknown): string {
  try {
    parseManifest(document, "manifest.json");
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).exitCode).toBe(ExitCode.manifest);
    return (error as ManifestError).message;
  }
  throw new Error("expected the manifest to be refused");
}

describe("manifest validation names the field and what is expected", () => {
  test("a valid manifest gets defaults and is frozen", () => {
    const manifest = parseManifest(manifestDocument());
    expect(manifest.target.growLvmPartition).toBe(true);
    expect(manifest.payload.stagingDir).toBe("/etc/upd");
    expect(manifest.bootloader.rebuildInitramfs).toBe(true);
    expect(Object.isFrozen(manifest.lvm.lvs)).toBe(true);
  });

  test("missing field", () => {
    const document = manifestDocument();
    delete document.lvm;
    expect(problemsOf(document)).toContain("lvm: missing, it is required");
  });

  test("wrong type", () => {
    const document = manifestDocument();
    (document.target as Record<string, unknown>).lvmPartition = "three";
    expect(problemsOf(document)).toContain("target.lvmPartition: must be integer");
  });

  test("unknown version", () => {
    expect(problemsOf({ ...manifestDocument(), version: 2 })).toContain("version: must be 1 (this agent understands manifest version 1)");
  });

  test("unknown field", () => {
    expect(problemsOf({ ...manifestDocument(), extra: true })).toContain('(top level): unknown field "extra"');
  });

  test("bad checksum format", () => {
    const document = manifestDocument();
    (document.payload as { rootfs: { sha256: string } }).rootfs.sha256 = "xyz";
    expect(problemsOf(document)).toContain("payload.rootfs.sha256: must match pattern");
  });

  test("rest must be the last volume, filesystems must name existing volumes", () => {
    const document = manifestDocument();
    document.lvm = { vg: "VA", lvs: [{ name: "data", size: "rest" }, { name: "root", size: "2GiB" }] };
    document.filesystems = [{ on: "lv:nope", type: "ext4", mountpoint: "/" }];
    const message = problemsOf(document);
    expect(message).toContain('lvm.lvs[0].size: "rest" is only allowed on the last logical volume');
    expect(message).toContain('filesystems[0].on: no logical volume "nope" in lvm.lvs');
  });

  test("a root filesystem is required", () => {
    const document = manifestDocument();
    document.filesystems = [{ on: "lv:root", type: "ext4", mountpoint: "/srv" }];
    expect(problemsOf(document)).toContain('one filesystem must have mountpoint "/"');
  });
});

describe("slots: the layout docs/SLOTS.md needs, or a refusal that names what is missing", () => {
  const tiny = { kernel: { file: "tiny-linux", sha256: "a".repeat(64) }, initramfs: { file: "tiny-initrd.img", sha256: "b".repeat(64) } };
  const withSlots = (change: (document: Record<string, unknown>) => void = () => {}) => {
    const document = { ...manifestDocument(), slots: { a: "root", b: "back" }, tinySystem: tiny };
    change(document);
    return document;
  };
  const filesystems = (document: Record<string, unknown>) => document.filesystems as { on: string; type: string; mountpoint?: string }[];

  test("the reference layout with slots: defaults filled in (3 tries, 1 s menu)", () => {
    expect(parseManifest(withSlots()).slots).toEqual({ a: "root", b: "back", tries: 3, menuTimeoutSeconds: 1 });
  });

  test.each([
    ["the same LV twice", (d: Record<string, unknown>) => (d.slots = { a: "root", b: "root" }), 'slots: a and b must be two logical volumes, both are "root"'],
    ["an LV that does not exist", (d: Record<string, unknown>) => (d.slots = { a: "root", b: "spare" }), 'slots.b: no logical volume "spare" in lvm.lvs'],
    ["slot A not the root filesystem", (d: Record<string, unknown>) => (d.slots = { a: "data", b: "back" }), 'slots.a: the filesystem on lv:data must have mountpoint "/"'],
    ["slot B mounted by the running slot", (d: Record<string, unknown>) => (filesystems(d)[2]!.mountpoint = "/back"), "slots.b: the filesystem on lv:back must have no mountpoint"],
    ["no tiny system for the rescue entry", (d: Record<string, unknown>) => delete d.tinySystem, "slots: tinySystem (kernel and initramfs) is needed"],
    ["/boot on xfs", (d: Record<string, unknown>) => (filesystems(d)[0]!.type = "xfs"), 'slots: the "/boot" filesystem must be ext4'],
    ["no /boot partition", (d: Record<string, unknown>) => (d.filesystems = filesystems(d).slice(1)), 'slots: a filesystem with mountpoint "/boot" on a partition is needed'],
  ])("%s", (_name, change, problem) => {
    expect(problemsOf(withSlots(change))).toContain(problem);
  });
});
