import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { coreLbaOf, placedCoreImage, stagedBootConfig, grubBootSector } from "../../agent/bootloader/staged-boot-image.ts";
import { parseDmTable, parseFilefrag, sysfsBlock, throughSegments } from "../../agent/disk/file-extents.ts";
import { gptSectors, protectiveMbrKeepingCode } from "../../agent/disk/gpt-writer.ts";
import { joinAdjacent, mergeRanges } from "../../agent/disk/sector-ranges.ts";
import { extentsAvoiding } from "../../agent/resume/extents.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { decideStagedBoot, type StagedFile, type StagedBootInputs } from "../../agent/resume/staged-boot.ts";
import { decodeStagedMap, encodeStagedMap, parseStagedMapArg, stagedMapArg } from "../../agent/resume/staged-map.ts";
import { planMigration } from "../../agent/plan/plan.ts";
import { manifestDocument, oldAppliance, referenceLayout, SHAPES, testManifest } from "./fixtures/shapes.ts";
import { createHash } from "node:crypto";
import { installedName } from "../../agent/preflight/tiny-tools.ts";

const FILEFRAG_XFS = `Filesystem type is: 58465342
File size of /run/va-agent/old-root/etc/upd/vmlinuz is 12142528 (23720 blocks of 512 bytes)
 ext:     logical_offset:        physical_offset: length:   expected: flags:
   0:        0..   15999:    1000000..   1015999:  16000:
   1:    16000..   23719:    2000000..   2007719:   7720:    1016000: last,eof
/run/va-agent/old-root/etc/upd/vmlinuz: 2 extents found
`;

describe("mapping a staged file to disk sectors", () => {
  test("filefrag extents in file order, the last one trimmed to the file's size", () => {
    expect(parseFilefrag(FILEFRAG_XFS, 12142528)).toEqual([
      { start: 1000000, count: 16000 },
      { start: 2000000, count: 7716 },
    ]);
  });

  test("unwritten, delayed or inline extents cannot be read from disk; holes read as zeros", () => {
    expect(() => parseFilefrag(FILEFRAG_XFS.replace("last,eof", "unwritten,last,eof"), 12142528)).toThrow("is unwritten");
    expect(() => parseFilefrag(FILEFRAG_XFS.replace("1:    16000..", "1:    16000 .."), 12142528)).toThrow("filefrag line not understood");
    expect(parseFilefrag(FILEFRAG_XFS.replace("1:    16000..", "1:    16008.."), 12142528)[1]).toEqual({ start: 0, count: 8, hole: true });
    // va.sgdisk as `stage` leaves it on xfs: 4 KiB allocated, the zeros after it never written.
    const sparse = "   0:        0..       7:    2682176..   2682183:      8:             last\n";
    expect(parseFilefrag(sparse, 17920)).toEqual([{ start: 2682176, count: 8 }, { start: 0, count: 27, hole: true }]);
  });

  test("an LV's linear segments map its sectors onto the partition, split at segment ends", () => {
    const segments = parseDmTable("0 524288 linear 252:2 2048\n524288 1048576 linear 252:3 4096\n");
    expect(throughSegments([{ start: 524000, count: 1000 }], segments)).toEqual([
      { start: 2048 + 524000, count: 288, device: "252:2" },
      { start: 4096, count: 712, device: "252:3" },
    ]);
    expect(() => parseDmTable("0 100 striped 2 128 252:2 0 252:3 0")).toThrow("not linear");
  });

  test("sysfs: a partition's disk and start, a whole disk at 0", () => {
    const root = mkdtempSync(join(tmpdir(), "va-sysfs-"));
    const vda2 = join(root, "devices/virtio0/block/vda/vda2");
    mkdirSync(vda2, { recursive: true });
    writeFileSync(join(vda2, "partition"), "2\n");
    writeFileSync(join(vda2, "start"), "2099200\n");
    mkdirSync(join(root, "dev/block"), { recursive: true });
    symlinkSync(vda2, join(root, "dev/block/252:2"));
    symlinkSync(join(root, "devices/virtio0/block/vda"), join(root, "dev/block/252:0"));
    expect(sysfsBlock("252:2", join(root, "dev/block"))).toEqual({ disk: "vda", start: 2099200 });
    expect(sysfsBlock("252:0", join(root, "dev/block"))).toEqual({ disk: "vda", start: 0 });
  });

  test("ranges: file order joins only what is adjacent; the keep set is merged and sorted", () => {
    expect(joinAdjacent([{ start: 10, count: 5 }, { start: 15, count: 5 }, { start: 1, count: 2 }])).toEqual([{ start: 10, count: 10 }, { start: 1, count: 2 }]);
    expect(mergeRanges([{ start: 10, count: 5 }, { start: 1, count: 2 }, { start: 12, count: 10 }])).toEqual([{ start: 1, count: 2 }, { start: 10, count: 12 }]);
  });
});

describe("the staged boot code", () => {
  test("one range for the kernel, each initramfs range its own initrd file (GRUB 2.12 misreads multi-range blocklists)", () => {
    const cfg = stagedBootConfig({ kernel: [{ start: 3000000, count: 23716 }], initramfs: [{ start: 1200000, count: 8 }, { start: 2000000, count: 4 }] }, "console=ttyS0 va.mode=migrate");
    expect(cfg).toContain("linux (hd0)3000000+23716 console=ttyS0 va.mode=migrate\n");
    expect(cfg).toContain("initrd (hd0)1200000+8 (hd0)2000000+4\n");
    expect(cfg.trimEnd().endsWith("boot")).toBe(true);
    expect(() => stagedBootConfig({ kernel: [{ start: 1, count: 1 }, { start: 5, count: 1 }], initramfs: [] }, "")).toThrow("one contiguous range");
  });

  test("boot sector: GRUB's code pointing at core.img, the disk's BPB and partition table kept, signature set", () => {
    const bootImg = new Uint8Array(512).fill(0xab);
    const current = new Uint8Array(512);
    current.fill(0x11, 0x03, 0x5a);
    current.fill(0x22, 0x1b8, 0x1fe);
    const sector = grubBootSector(bootImg, current, 1024);
    expect(coreLbaOf(sector)).toBe(1024);
    expect([...sector.subarray(0x03, 0x5a)].every((b) => b === 0x11)).toBe(true);
    expect([...sector.subarray(0x1b8, 0x1fe)].every((b) => b === 0x22)).toBe(true);
    expect([sector[0x66], sector[0x67], sector[0x1fe], sector[0x1ff]]).toEqual([0x90, 0x90, 0x55, 0xaa]);
    expect(sector[0]).toBe(0xab);
  });

  test("core.img: padded to sectors, diskboot's blocklist loads the rest from the next sector to segment 0x820", () => {
    const placed = placedCoreImage(new Uint8Array(1300).fill(7), 1024);
    const view = new DataView(placed.buffer);
    expect(placed.length).toBe(1536);
    expect(view.getBigUint64(500, true)).toBe(1025n);
    expect(view.getUint16(508, true)).toBe(2);
    expect(view.getUint16(510, true)).toBe(0x820);
    expect(placed[512]).toBe(7);
  });
});

describe("tool names of Debian- and EL-built tiny systems", () => {
  test("the first alias on PATH is run; none there: the canonical name (its failure names the tool)", () => {
    expect(installedName("grub-mkimage", (name) => name === "grub2-mkimage")).toBe("grub2-mkimage");
    expect(installedName("grub-install", (name) => name === "grub-install")).toBe("grub-install");
    expect(installedName("grub-install", () => false)).toBe("grub-install");
    expect(installedName("sgdisk", () => true)).toBe("sgdisk");
  });
});

describe("the GPT copied from the scratch image", () => {
  test("backup entries and header first, primary entries and header last; the MBR keeps the disk's boot code", () => {
    const header = Buffer.alloc(512);
    header.write("EFI PART", 0, "latin1");
    header.writeBigUInt64LE(12582911n, 32);
    header.writeBigUInt64LE(2n, 72);
    header.writeUInt32LE(128, 80);
    header.writeUInt32LE(128, 84);
    const backup = Buffer.from(header);
    backup.writeBigUInt64LE(12582879n, 72);
    expect(gptSectors(header, backup)).toEqual([
      { start: 12582879, count: 32 },
      { start: 12582911, count: 1 },
      { start: 2, count: 32 },
      { start: 1, count: 1 },
    ]);
    expect(() => gptSectors(Buffer.alloc(512), backup)).toThrow("no GPT");
    const mbr = protectiveMbrKeepingCode(Buffer.alloc(512, 0xee), Buffer.alloc(512, 0x33));
    expect(mbr[439]).toBe(0x33);
    expect(mbr[440]).toBe(0xee);
  });
});

describe("placing the store LV around the staged files", () => {
  const geometry = { pvStart: 2103296, peStart: 2048, extentSectors: 8192, extentCount: 10 };
  test("extents overlapping a kept range are skipped; consecutive ones form one PE range", () => {
    const pe = (n: number) => 2103296 + 2048 + n * 8192;
    expect(extentsAvoiding(geometry, [{ start: pe(2) + 100, count: 8192 }], 4)).toEqual([[0, 1], [4, 5]]);
    expect(extentsAvoiding(geometry, [], 3)).toEqual([[0, 2]]);
    expect(extentsAvoiding(geometry, [{ start: pe(0), count: 8 * 8192 }], 3)).toBeUndefined();
  });
});

function stagedFiles(overrides: Partial<Record<StagedFile["role"], StagedFile["ranges"]>> = {}): StagedFile[] {
  const file = (name: string, role: StagedFile["role"], ranges: StagedFile["ranges"]): StagedFile => ({ file: name, bytes: ranges.reduce((n, r) => n + r.count, 0) * 512, sha256: "c".repeat(64), role, ranges });
  return [
    file("va.tar.xz", "payload", overrides.payload ?? [{ start: 7000000, count: 400000 }]),
    file("vmlinuz", "kernel", overrides.kernel ?? [{ start: 3000000, count: 23716 }]),
    file("initramfs.img", "initramfs", overrides.initramfs ?? [{ start: 3100000, count: 75023 }]),
  ];
}

describe("deciding whether window A can be closed", () => {
  const inputs = (probe: StagedBootInputs["probe"], manifest = testManifest()): StagedBootInputs => ({
    manifest,
    layout: referenceLayout(),
    diskSectors: referenceLayout().diskSectors,
    lvmPartition: 3,
    resumeLv: "back",
    probe,
  });

  test("closed: the staged boot code just before the first partition, the store's extents counted", () => {
    const decision = decideStagedBoot(inputs({ files: stagedFiles(), firstOldPartitionStart: 2048 }));
    expect("plan" in decision && decision.plan.kit).toEqual({ start: 1024, count: 1024 });
    expect("plan" in decision && decision.plan.storeExtents).toBe(512);
    expect("plan" in decision && decision.plan.keep.length).toBe(3);
  });

  test("open, with the reason, for every case that cannot be made safe", () => {
    const reason = (d: ReturnType<typeof decideStagedBoot>) => ("openBecause" in d ? d.openBecause : "closed");
    expect(reason(decideStagedBoot(inputs(undefined)))).toContain("not mapped");
    expect(reason(decideStagedBoot(inputs({ unmapped: "extent at sector 0 is unwritten" })))).toContain("is unwritten");
    expect(reason(decideStagedBoot(inputs({ files: stagedFiles({ kernel: [{ start: 3000000, count: 10 }, { start: 3100000, count: 10 }] }), firstOldPartitionStart: 2048 })))).toContain("in 2 pieces");
    expect(reason(decideStagedBoot(inputs({ files: stagedFiles({ initramfs: [{ start: 3100000, count: 10 }, { start: 0, count: 8, hole: true }] }), firstOldPartitionStart: 2048 })))).toContain("initramfs.img has holes");
    expect(reason(decideStagedBoot(inputs({ files: stagedFiles(), firstOldPartitionStart: 63 })))).toContain("only 29 sectors before the first partition");
    expect(reason(decideStagedBoot(inputs({ files: stagedFiles({ payload: [{ start: 500000, count: 10 }] }), firstOldPartitionStart: 2048 })))).toContain("partition 2");
    expect(reason(decideStagedBoot(inputs({ files: stagedFiles({ payload: [{ start: 2103300, count: 10 }] }), firstOldPartitionStart: 2048 })))).toContain("the PV header on partition 3");
    expect(reason(decideStagedBoot({ ...inputs({ files: stagedFiles(), firstOldPartitionStart: 2048 }), resumeLv: undefined }))).toContain("no resume store LV");
    const percent = manifestDocument();
    percent.lvm = { vg: "VA", lvs: [{ name: "root", size: "2GiB" }, { name: "back", size: "30%" }, { name: "data", size: "rest" }] };
    expect(reason(decideStagedBoot(inputs({ files: stagedFiles(), firstOldPartitionStart: 2048 }, parseManifest(percent))))).toContain("no absolute size");
    const noBoot = manifestDocument();
    noBoot.filesystems = (noBoot.filesystems as Array<{ mountpoint?: string }>).filter((fs) => fs.mountpoint !== "/boot");
    expect(reason(decideStagedBoot(inputs({ files: stagedFiles(), firstOldPartitionStart: 2048 }, parseManifest(noBoot))))).toContain("/boot is not a partition");
  });
});

describe("the staged map", () => {
  test("round trip through its kernel argument: plan and manifest back, a changed byte refused", () => {
    const manifest = testManifest();
    const plan = planMigration(manifest, referenceLayout(), oldAppliance(SHAPES["virtio, MBR+LVM centos, xfs root, disk equal to the layout"]!), { files: stagedFiles(), firstOldPartitionStart: 2048 });
    const map = encodeStagedMap(plan, manifest);
    const location = { disk: "/dev/vda", lba: 1900, bytes: map.length, sha256: createHash("sha256").update(map).digest("hex") };
    const parsed = parseStagedMapArg(`console=ttyS0 ${stagedMapArg(location)} va.mode=migrate`);
    expect(parsed).toEqual(location);
    expect(decodeStagedMap(map, location).plan.stagedBoot).toEqual(plan.stagedBoot);
    const damaged = Buffer.from(map);
    damaged[100] ^= 1;
    expect(() => decodeStagedMap(damaged, location)).toThrow("staged map on disk is damaged");
    expect(parseStagedMapArg("console=ttyS0 va.mode=migrate")).toBeUndefined();
  });
});
