import { commandsOf } from "./step-hooks.ts";
import { describe, expect, test } from "bun:test";
import { PreflightError } from "../../agent/errors/errors.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { memoryNeed } from "../../agent/plan/memory.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { checkRam } from "../../agent/preflight/machine-checks.ts";
import type { StageFacts } from "../../agent/preflight/stage-facts.ts";
import { loadPayload } from "../../agent/steps/load-payload.ts";
import { manifestDocument, oldAppliance, referenceLayout, SHAPES } from "./fixtures/shapes.ts";

const MIB = 1024 ** 2;
const virtio = SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!;

function manifest(rootfsBytes: number) {
  const document: Record<string, any> = manifestDocument();
  document.payload.rootfs.bytes = rootfsBytes;
  document.tinySystem = {
    kernel: { file: "vmlinuz", bytes: 10 * MIB, sha256: "c".repeat(64) },
    initramfs: { file: "initramfs-convert.img", bytes: 60 * MIB, sha256: "d".repeat(64) },
  };
  return parseManifest(document);
}

const stageSays = (rootfsBytes: number, ramBytes: number) => checkRam({ ramBytes } as StageFacts, manifest(rootfsBytes)).severity === "ok";

function planSays(rootfsBytes: number, ramBytes: number): boolean {
  try {
    planMigration(manifest(rootfsBytes), referenceLayout(), oldAppliance(virtio, { ramBytes }));
    return true;
  } catch (error) {
    if (error instanceof PreflightError && error.message.startsWith("not enough RAM")) return false;
    throw error;
  }
}

describe("issue 13 item 7: RAM pre-flight ignores the tmpfs size cap", () => {
  test("stage's pre-flight and the tiny system's plan agree, at the limit, for several payload sizes", () => {
    for (const rootfs of [1 * MIB, 200 * MIB, 1536 * MIB + 12345, 3 * 1024 * MIB]) {
      const need = memoryNeed(manifest(rootfs)).ramBytes;
      expect([stageSays(rootfs, need), planSays(rootfs, need)]).toEqual([true, true]);
      expect([stageSays(rootfs, need - 1), planSays(rootfs, need - 1)]).toEqual([false, false]);
    }
  });

  test("the tmpfs holds every file copied to RAM, with margin, and the tiny system's RAM comes on top", () => {
    // rootfs 200 MiB + kernel 10 MiB + initramfs 60 MiB + partition table 17920 bytes, + 10 %, + 64 MiB for the rest of /run.
    expect(memoryNeed(manifest(200 * MIB))).toEqual({ payloadBytes: 270 * MIB + 17920, tmpfsBytes: 362 * MIB, ramBytes: 1002 * MIB });
    expect(checkRam({ ramBytes: 1001 * MIB } as StageFacts, manifest(200 * MIB)).finding).toBe(
      "the machine has 1001 MiB of RAM; the migration needs the files copied to RAM (271 MiB) + 10 % + 64 MiB for the rest of /run = a tmpfs of 362 MiB, + the tiny system (640 MiB) = 1002 MiB, 1 MiB more",
    );
  });

  test("a 1 GiB box that passed the old plan formula gets its /run sized for the payload, as load-payload's first command", () => {
    // Old plan formula: 200 + 70 + 640 = 910 MiB of 1024: passed, then /run (20 % of RAM = 204 MiB) ran out in load-payload.
    const m = manifest(200 * MIB);
    const plan = planMigration(m, referenceLayout(), oldAppliance(virtio, { ramBytes: 1024 * MIB }));
    expect(commandsOf(loadPayload, { manifest: m, plan, paths: defaultPaths() })).toEqual([
      ["mount", "-o", "remount,size=362m", "/run"],
      ["mount", "-o", "ro", "-t", "xfs", "/dev/mapper/centos-root", "/run/va-agent/old-root"],
      ["umount", "/run/va-agent/old-root"],
    ]);
  });

  test("a box that passed the old plan formula but cannot hold the sized tmpfs and the tiny system is refused in plan", () => {
    // 910 MiB by the old formula fits in 960 MiB; the payload's tmpfs (362 MiB) + the tiny system (640 MiB) does not.
    expect(() => planMigration(manifest(200 * MIB), referenceLayout(), oldAppliance(virtio, { ramBytes: 960 * MIB }))).toThrow(
      "not enough RAM: the machine has 960 MiB; the migration needs the files copied to RAM (271 MiB) + 10 % + 64 MiB for the rest of /run = a tmpfs of 362 MiB, + the tiny system (640 MiB) = 1002 MiB",
    );
  });

  test("the carried configuration the tiny system finds staged counts too", () => {
    const m = manifest(200 * MIB);
    const plan = planMigration(m, referenceLayout(), oldAppliance(virtio, { ramBytes: 2048 * MIB }), undefined, 100 * MIB);
    expect(plan.memory).toEqual({ payloadBytes: 370 * MIB + 17920, tmpfsBytes: 472 * MIB, ramBytes: 1112 * MIB });
    expect(commandsOf(loadPayload, { manifest: m, plan, paths: defaultPaths() })[0]).toEqual(["mount", "-o", "remount,size=472m", "/run"]);
  });
});
