import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseGrubenv } from "../../agent/bootloader/grubenv.ts";
import { SlotError } from "../../agent/errors/errors.ts";
import { bootedRescue, bootedSlotIn, bootedSlotOrNull } from "../../agent/slots/booted-slot.ts";
import { readSlotGrubenv, writeSlotGrubenv } from "../../agent/slots/grubenv-store.ts";
import { readSlotMetadata, slotMetadataFromJson } from "../../agent/slots/slot-metadata.ts";
import { grubCfgPath, grubenvPath, rescueDir, SHARED_BOOT_MOUNT, slotBootEnvPath, slotsMetadataPath } from "../../agent/slots/slot-paths.ts";
import { fileSlotStore } from "../../agent/slots/slot-store.ts";
import { bootDirWith, env, migratedBox } from "./slot-fixture.ts";

describe("slot paths", () => {
  test("the shared boot partition's files, relative to its mount; the slot's own file inside its root", () => {
    expect(SHARED_BOOT_MOUNT).toBe("/boot/va");
    expect(grubenvPath()).toBe("/boot/va/grub/grubenv");
    expect(grubCfgPath("/mnt")).toBe("/mnt/grub/grub.cfg");
    expect(slotsMetadataPath("/mnt")).toBe("/mnt/va-agent/slots.json");
    expect(rescueDir("/mnt")).toBe("/mnt/va-rescue");
    expect(slotBootEnvPath()).toBe("/etc/va-agent/slot-boot.env");
    expect(slotBootEnvPath("/sysimage")).toBe("/sysimage/etc/va-agent/slot-boot.env");
  });
});

describe("grubenv store", () => {
  test("a missing grubenv: this box has no slot boot setup (typed, exit 16)", () => {
    const dir = mkdtempSync(join(tmpdir(), "va-slot-none-"));
    try {
      readSlotGrubenv(dir);
      throw new Error("expected a SlotError");
    } catch (error) {
      expect(error).toBeInstanceOf(SlotError);
      expect((error as SlotError).message).toBe(`this box has no slot boot setup: ${dir}/grub/grubenv does not exist`);
      expect((error as SlotError).exitCode).toBe(16);
      expect((error as SlotError).details.refusal).toBe("no-slot-setup");
    }
  });

  test("a write is one whole 1024-byte block, keeps the other variables, leaves no temp file", () => {
    const dir = bootDirWith(migratedBox(), [["saved_entry", "0"], ["next_entry", "Rescue"]]);
    const { vars } = readSlotGrubenv(dir);
    writeSlotGrubenv(dir, env("B A", { A: [true, 0], B: [true, 0] }), vars);
    const block = readFileSync(grubenvPath(dir), "latin1");
    expect(block.length).toBe(1024);
    expect(block.startsWith("# GRUB Environment Block\n")).toBe(true);
    expect(Object.fromEntries(parseGrubenv(block))).toEqual({ saved_entry: "0", next_entry: "Rescue", ORDER: "B A", A_OK: "1", A_TRY: "0", B_OK: "1", B_TRY: "0" });
    expect(readdirSync(join(dir, "grub"))).toEqual(["grubenv"]);
    expect(statSync(grubenvPath(dir)).mode & 0o777).toBe(0o644);
  });

  test("a power cut inside a write (a torn temp file) leaves the old block, and the next write replaces the temp", () => {
    const dir = bootDirWith(migratedBox());
    writeFileSync(join(dir, "grub/.grubenv.va-tmp"), "# GRUB Environment Block\nORDER=B A\nB_OK=1\n"); // cut before fsync/rename
    expect(readSlotGrubenv(dir).env).toEqual(migratedBox().env);
    writeSlotGrubenv(dir, env("A B", { A: [true, 1], B: [false, 0] }), new Map());
    expect(readdirSync(join(dir, "grub"))).toEqual(["grubenv"]);
    expect(readSlotGrubenv(dir).env.tries.A).toBe(1);
  });

  test("a file that is no GRUB environment block is refused, not guessed at", () => {
    const dir = mkdtempSync(join(tmpdir(), "va-slot-bad-"));
    mkdirSync(join(dir, "grub"));
    writeFileSync(grubenvPath(dir), "ORDER=A B\n");
    expect(() => readSlotGrubenv(dir)).toThrow("is not a GRUB environment block");
  });

  test("the file store writes each file as asked and reads both back", () => {
    const dir = bootDirWith(migratedBox());
    const store = fileSlotStore(dir);
    expect(store.read()).toEqual(migratedBox());
    store.write({ file: "grubenv", env: env("A B", { A: [true, 2], B: [false, 0] }) });
    expect(store.read().env.tries.A).toBe(2);
    expect(parseGrubenv(readFileSync(grubenvPath(dir), "latin1")).get("saved_entry")).toBe("0");
  });
});

describe("slots.json", () => {
  test("read leniently: a missing file is two empty slots, unknown or mistyped fields take their defaults", () => {
    expect(readSlotMetadata(mkdtempSync(join(tmpdir(), "va-slot-meta-")))).toMatchObject({ tries: 3, slots: { A: { lv: "root", state: "empty" }, B: { lv: "back", state: "empty" } } });
    const lenient = slotMetadataFromJson({ tries: "many", slots: { A: { lv: "sys-a", state: "installed", release: 14, product: "va-demo" }, B: { state: "weird" } } });
    expect(lenient.tries).toBe(3);
    expect(lenient.slots.A).toMatchObject({ lv: "sys-a", state: "installed", product: "va-demo", release: null });
    expect(lenient.slots.B.state).toBe("empty");
    const dir = mkdtempSync(join(tmpdir(), "va-slot-meta-"));
    mkdirSync(join(dir, "va-agent"));
    writeFileSync(slotsMetadataPath(dir), "{ not json");
    expect(readSlotMetadata(dir).slots.A.state).toBe("empty");
  });
});

describe("the booted slot, from the kernel command line", () => {
  test("va.slot=A|B", () => {
    expect(bootedSlotIn("BOOT_IMAGE=/vmlinuz root=/dev/mapper/va-root ro va.slot=B panic=10 console=ttyS0")).toBe("B");
    expect(bootedSlotOrNull("root=/dev/sda1 ro")).toBeNull();
    expect(bootedRescue("va.mode=rescue console=ttyS0")).toBe(true);
  });

  test("absent or garbled: not booted through the slot menu (typed)", () => {
    expect(() => bootedSlotIn("root=/dev/sda1 ro quiet")).toThrow("not booted through the slot menu: the kernel command line has no va.slot= (root=/dev/sda1 ro quiet)");
    expect(() => bootedSlotIn("va.slot=C")).toThrow("va.slot=C, which is neither A nor B");
    try {
      bootedSlotIn("va.mode=rescue");
    } catch (error) {
      expect((error as SlotError).hint).toContain("This is the rescue system");
    }
  });
});
