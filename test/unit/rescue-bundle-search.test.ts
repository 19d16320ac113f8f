import { rejection as refusal } from "./fixtures/refusal.ts";
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BlockDevice } from "../../agent/machine/machine.ts";
import { formatArgv } from "../../agent/runner/argv-text.ts";
import { findBundle, mountArgv } from "../../agent/rescue/bundle-search.ts";
import { FakeRunner } from "./fake-runner.ts";

const STICK: BlockDevice = { path: "/dev/sdb1", type: "part", sizeBytes: 8e9, fstype: "vfat", label: "VA-STICK", parent: "/dev/sdb" };
const DATA: BlockDevice = { path: "/dev/mapper/VA-data", type: "lvm", sizeBytes: 8e9, fstype: "ext4", label: "data", parent: "/dev/vda3" };
const LOGS: BlockDevice = { path: "/dev/mapper/VA-logs", type: "lvm", sizeBytes: 1e9, fstype: "xfs", parent: "/dev/vda3" };
const SWAP: BlockDevice = { path: "/dev/mapper/VA-swap", type: "lvm", sizeBytes: 1e9, fstype: "swap", parent: "/dev/vda3" };
const ROOT: BlockDevice = { path: "/dev/mapper/VA-root", type: "lvm", sizeBytes: 4e9, fstype: "ext4", label: "va-slot-A", parent: "/dev/vda3" };
const DEVICES = [ROOT, DATA, DATA, LOGS, SWAP, STICK];
const DATA_LVS = ["/dev/mapper/VA-data", "/dev/mapper/VA-logs", "/dev/mapper/VA-swap"];

/** A media directory with files laid out where the (fake) mounts would show them. */
function media(files: Record<string, string[]>): string {
  const dir = mkdtempSync(join(tmpdir(), "va-rescue-media-"));
  for (const [medium, names] of Object.entries(files)) {
    mkdirSync(join(dir, medium), { recursive: true });
    for (const name of names) {
      mkdirSync(join(dir, medium, name, ".."), { recursive: true });
      writeFileSync(join(dir, medium, name), "tar");
    }
  }
  return dir;
}


describe("rescue install: finding the bundle", () => {
  test("a path that exists: used as it is, no command", async () => {
    const dir = media({ here: ["slot.tar"] });
    const run = new FakeRunner();
    expect(await findBundle(run, { bundle: join(dir, "here/slot.tar") }, DEVICES, DATA_LVS, dir)).toEqual({ bundle: join(dir, "here/slot.tar"), medium: null });
    expect(run.calls).toEqual([]);
  });

  test("a path that does not exist: refused, naming --label and --path", async () => {
    const run = new FakeRunner();
    const error = await refusal(findBundle(run, { bundle: "/nowhere/slot.tar" }, DEVICES, DATA_LVS));
    expect(error.message).toBe("/nowhere/slot.tar does not exist");
    expect(error.hint).toContain("--label LABEL [--path P]");
    expect(run.calls).toEqual([]);
  });

  test("--label: that filesystem mounted read-only, the only *.tar at its root taken, left mounted for the install", async () => {
    const dir = media({ "VA-STICK": ["va-13.1.tar", "README.txt"] });
    const run = new FakeRunner();
    const found = await findBundle(run, { label: "VA-STICK" }, DEVICES, DATA_LVS, dir);
    expect(found).toEqual({ bundle: join(dir, "VA-STICK/va-13.1.tar"), medium: { device: "/dev/sdb1", fstype: "vfat", mountpoint: join(dir, "VA-STICK"), mountedHere: true } });
    expect(run.calls.map(formatArgv)).toEqual([`mount -o ro -t vfat /dev/sdb1 ${dir}/VA-STICK`]);
  });

  test("no medium named: the VG's data LVs with a filesystem (swap skipped, each LV once), each mounted read-only without journal replay at its label or device name; the ones without the bundle unmounted", async () => {
    const dir = media({ data: ["images/va-13.1.tar"], "VA-logs": [] });
    const run = new FakeRunner();
    const found = await findBundle(run, { path: "images/va-13.1.tar" }, DEVICES, DATA_LVS, dir);
    expect(found.bundle).toBe(join(dir, "data/images/va-13.1.tar"));
    expect(run.calls.map(formatArgv)).toEqual([
      `mount -o ro,noload -t ext4 /dev/mapper/VA-data ${dir}/data`,
      `mount -o ro,norecovery -t xfs /dev/mapper/VA-logs ${dir}/VA-logs`,
      `umount ${dir}/VA-logs`,
    ]);
  });

  test("several slot images: refused, listing them and asking for --path; everything unmounted", async () => {
    const dir = media({ "VA-STICK": ["va-13.1.tar", "va-13.2.tar"] });
    const run = new FakeRunner();
    const error = await refusal(findBundle(run, { label: "VA-STICK" }, DEVICES, DATA_LVS, dir));
    expect(error.message).toBe(`several slot images found: ${dir}/VA-STICK/va-13.1.tar, ${dir}/VA-STICK/va-13.2.tar`);
    expect(error.hint).toBe("Nothing was changed. Say which with --path (relative to the medium's root), e.g. --path va-13.1.tar.");
    expect(run.calls.map(formatArgv)).toEqual([`mount -o ro -t vfat /dev/sdb1 ${dir}/VA-STICK`, `umount ${dir}/VA-STICK`]);
    const chosen = await findBundle(new FakeRunner(), { label: "VA-STICK", path: "va-13.2.tar" }, DEVICES, DATA_LVS, dir);
    expect(chosen.bundle).toBe(join(dir, "VA-STICK/va-13.2.tar"));
  });

  test("the same path on two data LVs: several, and the hint adds --label", async () => {
    const dir = media({ data: ["x.tar"], "VA-logs": ["x.tar"] });
    const error = await refusal(findBundle(new FakeRunner(), { path: "x.tar" }, DEVICES, DATA_LVS, dir));
    expect(error.hint).toContain("with --label LABEL for the medium");
  });

  test("none: refused, saying what was searched; unmounted", async () => {
    const dir = media({ data: ["notes.txt"], "VA-logs": [] });
    const run = new FakeRunner();
    const error = await refusal(findBundle(run, {}, DEVICES, DATA_LVS, dir));
    expect(error.message).toBe(`no slot image found: searched /dev/mapper/VA-data (at ${dir}/data), /dev/mapper/VA-logs (at ${dir}/VA-logs) for a *.tar at its root`);
    expect(run.calls.map(formatArgv).filter((line) => line.startsWith("umount"))).toEqual([`umount ${dir}/data`, `umount ${dir}/VA-logs`]);
  });

  test("a label nobody has, or two filesystems with it: refused before any mount", async () => {
    const run = new FakeRunner();
    const none = await refusal(findBundle(run, { label: "USB" }, DEVICES, DATA_LVS));
    expect(none.message).toBe("no filesystem is labelled USB (labels seen: VA-STICK, data, va-slot-A)");
    const twice = await refusal(findBundle(run, { label: "VA-STICK" }, [...DEVICES, { ...STICK, path: "/dev/sdc1" }], DATA_LVS));
    expect(twice.message).toBe("several filesystems are labelled VA-STICK: /dev/sdb1, /dev/sdc1");
    expect(run.calls).toEqual([]);
  });

  test("a medium mounted already is searched where it is, and left mounted", async () => {
    const dir = media({ stick: ["va.tar"] });
    const run = new FakeRunner();
    const found = await findBundle(run, { label: "VA-STICK" }, [{ ...STICK, mountpoint: join(dir, "stick") }], DATA_LVS, dir);
    expect(found).toEqual({ bundle: join(dir, "stick/va.tar"), medium: { device: "/dev/sdb1", fstype: "vfat", mountpoint: join(dir, "stick"), mountedHere: false } });
    expect(run.calls).toEqual([]);
  });

  test("read-only mounts by type", () => {
    expect(mountArgv("/dev/x", "ext4", "/m")).toEqual(["mount", "-o", "ro,noload", "-t", "ext4", "/dev/x", "/m"]);
    expect(mountArgv("/dev/x", "xfs", "/m")).toEqual(["mount", "-o", "ro,norecovery", "-t", "xfs", "/dev/x", "/m"]);
    expect(mountArgv("/dev/x", "exfat", "/m")).toEqual(["mount", "-o", "ro", "-t", "exfat", "/dev/x", "/m"]);
  });
});
