import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BundleError, ManifestError } from "../../agent/errors/errors.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { parseSlotImageManifest } from "../../agent/slots/slot-image-manifest.ts";
import { buildBundle } from "../../build/bundle.ts";
import { makeWorkspace, removeWorkspaces } from "./bundle-fixture.ts";
import { manifestDocument } from "./fixtures/shapes.ts";
import { slotImageDocument } from "./slot-install-fixture.ts";

afterAll(removeWorkspaces);

function problems(document: unknown): string[] {
  try {
    parseSlotImageManifest(document);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    return error.details.problems as string[];
  }
  return [];
}

describe("the slot image manifest (kind slot-image, version 1)", () => {
  test("a valid one parses, frozen", () => {
    const manifest = parseSlotImageManifest(slotImageDocument());
    expect(manifest).toMatchObject({ kind: "slot-image", version: 1, product: { name: "va", release: "13.1" }, filesystem: "ext4", minSlotBytes: 2 * 1024 ** 3 });
    expect(Object.isFrozen(manifest.payload.rootfs)).toBe(true);
  });

  test("each field judged by its schema, every problem named", () => {
    const document = slotImageDocument();
    document.filesystem = "btrfs";
    document.version = 2;
    (document.payload as { rootfs: Record<string, unknown> }).rootfs.compression = "gzip";
    delete (document.payload as { rootfs: Record<string, unknown> }).rootfs.bytes;
    document.partitionTable = {};
    expect(problems(document).sort()).toEqual(
      [
        'filesystem: must be one of "ext4", "xfs"',
        "version: must be 1 (this agent understands manifest version 1)",
        'payload.rootfs.compression: must be one of "xz", "zstd"',
        "payload.rootfs.bytes: missing, it is required",
        '(top level): unknown field "partitionTable"',
      ].sort(),
    );
  });

  test("a migration manifest is refused by kind, not by a list of schema problems; and the other way round", () => {
    expect(() => parseSlotImageManifest(manifestDocument(), "m.json")).toThrow(BundleError);
    expect(() => parseSlotImageManifest(manifestDocument(), "m.json")).toThrow("m.json is a migration bundle (va 13.0), not a slot image");
    expect(() => parseManifest(slotImageDocument())).toThrow(ManifestError); // the migration schema alone: kind is an unknown field
  });
});

describe("build.ts bundle --slot-image", () => {
  test("the kind asked for and the manifest's must agree", async () => {
    const ws = makeWorkspace();
    const slot = join(ws.dir, "slot.json");
    writeFileSync(slot, JSON.stringify(slotImageDocument()));
    const files = new Map([["va.tar.xz", ws.files.get("va.tar.xz")!]]);
    await expect(buildBundle({ manifest: slot, key: ws.keys.privateKeyFile, out: join(ws.dir, "a.tar"), files })).rejects.toThrow("build it with --slot-image");
    await expect(buildBundle({ manifest: ws.manifest, key: ws.keys.privateKeyFile, out: join(ws.dir, "b.tar"), files: ws.files, slotImage: true })).rejects.toThrow("is not a slot image manifest");
    const built = await buildBundle({ manifest: slot, key: ws.keys.privateKeyFile, out: join(ws.dir, "c.tar"), files, slotImage: true });
    expect(built.members.map((m) => m.file)).toEqual(["va.tar.xz"]);
  });
});
