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

describe("snapshots: the reserve, the percentages and the factory LV, or a refusal by name", () => {
  const tiny = { kernel: { file: "tiny-linux", sha256: "a".repeat(64) }, initramfs: { file: "tiny-initrd.img", sha256: "b".repeat(64) } };
  const withSnapshots = (snapshots: Record<string, unknown>, change: (document: Record<string, unknown>) => void = () => {}) => {
    const document: Record<string, unknown> = { ...manifestDocument(), slots: { a: "root", b: "back" }, tinySystem: tiny, snapshots };
    (document.lvm as { lvs: { name: string; size: string }[] }).lvs = [{ name: "root", size: "2GiB" }, { name: "back", size: "2GiB" }, { name: "factory", size: "2GiB" }, { name: "data", size: "rest" }];
    change(document);
    return document;
  };

  test("defaults filled in: COW 20%, extend at 70%, no install snapshot", () => {
    expect(parseManifest(withSnapshots({ reserve: "4GiB", factoryLv: "factory" })).snapshots).toEqual({ reserve: "4GiB", cowPercent: 20, extendAtPercent: 70, factoryLv: "factory", beforeInstall: false });
  });

  test.each([
    ["no reserve", { cowPercent: 20 }, "snapshots.reserve: missing, it is required"],
    ["the reserve as rest", { reserve: "rest" }, "snapshots.reserve: must match pattern"],
    ["a zero reserve", { reserve: "0GiB" }, "snapshots.reserve: 0 leaves no room for any snapshot"],
    ["cowPercent 0", { reserve: "1GiB", cowPercent: 0 }, "snapshots.cowPercent: must be >= 1"],
    ["extendAtPercent 99", { reserve: "1GiB", extendAtPercent: 99 }, "snapshots.extendAtPercent: must be <= 95"],
    ["an unknown factory LV", { reserve: "1GiB", factoryLv: "nope" }, 'snapshots.factoryLv: no logical volume "nope" in lvm.lvs'],
    ["a slot as the factory LV", { reserve: "1GiB", factoryLv: "back" }, 'snapshots.factoryLv: "back" is a slot'],
    ["a factory LV with a filesystem", { reserve: "1GiB", factoryLv: "data" }, "snapshots.factoryLv: lv:data must have no filesystem entry"],
  ])("%s", (_name, snapshots, problem) => {
    expect(problemsOf(withSnapshots(snapshots))).toContain(problem);
  });

  test("a factory LV smaller than slot A", () => {
    const document = withSnapshots({ reserve: "1GiB", factoryLv: "factory" }, (d) => ((d.lvm as { lvs: { name: string; size: string }[] }).lvs[2]!.size = "1GiB"));
    expect(problemsOf(document)).toContain('snapshots.factoryLv: "factory" (1GiB) is smaller than slot A "root" (2GiB), whose image it keeps');
  });

  test("percentages over 100 with the LVs'", () => {
    const document = withSnapshots({ reserve: "50%" }, (d) => ((d.lvm as { lvs: { name: string; size: string }[] }).lvs[2]!.size = "60%"));
    expect(problemsOf(document)).toContain("snapshots.reserve: 50% with the logical volumes' percentages is 110% of the volume group");
  });

  test("snapshots without slots, and an LV named like the reserve placeholder", () => {
    const document = withSnapshots({ reserve: "1GiB" }, (d) => {
      delete d.slots;
      (d.lvm as { lvs: { name: string; size: string }[] }).lvs[2]!.name = "va-snapshot-reserve";
    });
    const message = problemsOf(document);
    expect(message).toContain("snapshots: needs slots");
    expect(message).toContain('lvm.lvs: "va-snapshot-reserve" is the name of the placeholder');
  });
});
