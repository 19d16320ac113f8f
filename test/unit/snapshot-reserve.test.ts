import { describe, expect, test } from "bun:test";
import { LayoutError } from "../../agent/errors/errors.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { createVolumes } from "../../agent/steps/create-volumes.ts";
import { manifestDocument, oldAppliance, referenceLayout, SHAPES } from "./fixtures/shapes.ts";
import { commandsOf } from "./step-hooks.ts";

const TINY = { kernel: { file: "tiny-linux", sha256: "a".repeat(64) }, initramfs: { file: "tiny-initrd.img", sha256: "b".repeat(64) } };
const SHAPE = SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!;

function lvCommands(snapshots: Record<string, unknown>, lvs?: { name: string; size: string }[]) {
  const document: Record<string, unknown> = { ...manifestDocument(), slots: { a: "root", b: "back" }, tinySystem: TINY, snapshots };
  if (lvs) (document.lvm as { lvs: unknown }).lvs = lvs;
  const manifest = parseManifest(document);
  const ctx = { manifest, plan: planMigration(manifest, referenceLayout(), oldAppliance(SHAPE)), paths: defaultPaths() };
  return commandsOf(createVolumes, ctx).filter((argv) => argv[1] === "lvcreate" || argv[1] === "lvremove");
}

describe("the migration leaves snapshots.reserve free in the VG", () => {
  test("a placeholder LV of the reserve right before the rest LV, removed after the last LV (never zeroed or wiped)", () => {
    expect(lvCommands({ reserve: "512MiB" })).toEqual([
      ["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", "root", "--size", "2147483648b", "VA"],
      ["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", "back", "--size", "2147483648b", "VA"],
      ["lvm", "lvcreate", "--yes", "--wipesignatures", "n", "--zero", "n", "--name", "va-snapshot-reserve", "--size", "536870912b", "VA"],
      ["lvm", "lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "--name", "data", "--extents", "100%FREE", "VA"],
      ["lvm", "lvremove", "--yes", "VA/va-snapshot-reserve"],
    ]);
  });

  test("a percent reserve; with the factory LV; without a rest LV the placeholder comes last", () => {
    const lvs = [{ name: "root", size: "1GiB" }, { name: "back", size: "1GiB" }, { name: "factory", size: "1GiB" }, { name: "data", size: "20%" }];
    expect(lvCommands({ reserve: "15%", factoryLv: "factory" }, lvs).map((argv) => (argv[1] === "lvremove" ? argv.at(-1)! : argv.slice(8).join(" ")))).toEqual([
      "root --size 1073741824b VA",
      "back --size 1073741824b VA",
      "factory --size 1073741824b VA",
      "data --extents 20%VG VA",
      "va-snapshot-reserve --extents 15%VG VA",
      "VA/va-snapshot-reserve",
    ]);
  });

  test("no snapshots block: no placeholder", () => {
    const manifest = parseManifest(manifestDocument());
    const ctx = { manifest, plan: planMigration(manifest, referenceLayout(), oldAppliance(SHAPE)), paths: defaultPaths() };
    expect(commandsOf(createVolumes, ctx).some((argv) => argv.includes("va-snapshot-reserve") || argv.includes("VA/va-snapshot-reserve"))).toBe(false);
  });

  test("the plan refuses a reserve the LVM partition cannot hold beside the LVs, before anything is written", () => {
    const document = { ...manifestDocument(), slots: { a: "root", b: "back" }, tinySystem: TINY, snapshots: { reserve: "100GiB" } };
    const manifest = parseManifest(document);
    expect(() => planMigration(manifest, referenceLayout(), oldAppliance(SHAPE))).toThrow(LayoutError);
    expect(() => planMigration(manifest, referenceLayout(), oldAppliance(SHAPE))).toThrow("the logical volumes and the snapshot reserve need at least");
  });
});
