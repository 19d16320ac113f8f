import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExitCode, ToolMissingError } from "../../agent/errors/errors.ts";
import { Journal } from "../../agent/journal/journal.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { defaultPaths, type Paths } from "../../agent/paths.ts";
import { OLD_SYSTEM_INTACT_MARKER } from "../../agent/workflow/hand-back.ts";
import { migrateOrHandBack } from "../../agent/workflow/migrate-or-hand-back.ts";
import { STORE_META_FILE, storeDir } from "../../agent/resume/store.ts";
import { FakeRunner } from "./fake-runner.ts";
import { manifestDocument } from "./fixtures/shapes.ts";

const DISK = "/dev/vda";
const ROOT_LV = "/dev/mapper/centos-root";
const GIB = 1024 ** 3;
const TABLE = readFileSync(join(import.meta.dir, "fixtures/va-6g.sgdisk"));
const ref = (data: string | Buffer, file: string) => ({ file, bytes: Buffer.byteLength(data), sha256: createHash("sha256").update(data).digest("hex") });

interface Box {
  diskBytes?: number;
  /** What /etc/upd/manifest.json holds. */
  manifest?: string;
  osRelease?: boolean;
  lsblkFails?: boolean;
  oldRootMountFails?: boolean;
  /** An LV VA/back with ext4 (where a resume store would be). */
  backLv?: boolean;
}

/** The tiny system's first boot on an old appliance with a staged bundle; the old root's files are real dirs, its mounts faked. */
function tinySystem(box: Box = {}) {
  const paths = defaultPaths(join(mkdtempSync(join(tmpdir(), "va-hand-back-")), "run"), "/sysimage");
  const document = manifestDocument();
  (document.target as Record<string, unknown>).partitionTable = ref(TABLE, "va.sgdisk");
  for (const root of [paths.probeMount, paths.oldRootMount]) {
    mkdirSync(join(root, "etc/upd"), { recursive: true });
    if (box.osRelease !== false) writeFileSync(join(root, "etc/os-release"), 'ID=centos\nPRETTY_NAME="CentOS Linux 7 (Core)"\n');
    writeFileSync(join(root, "etc/fstab"), `${ROOT_LV} / ext4 defaults 0 0\n`);
    writeFileSync(join(root, "etc/upd/manifest.json"), box.manifest ?? JSON.stringify(document));
    writeFileSync(join(root, "etc/upd/va.sgdisk"), TABLE);
  }
  const lsblk = {
    blockdevices: [
      { path: DISK, type: "disk", size: box.diskBytes ?? 8 * GIB, tran: "virtio", ptuuid: "8c6f1a2b" },
      { path: `${DISK}1`, type: "part", size: GIB, fstype: "vfat", pkname: DISK },
      { path: `${DISK}2`, type: "part", size: 7 * GIB, fstype: "LVM2_member", pkname: DISK },
      { path: ROOT_LV, type: "lvm", size: 6 * GIB, fstype: "ext4", pkname: `${DISK}2` },
    ],
  };
  const run = new FakeRunner()
    .respond((argv) => (argv[0] === "lsblk" ? (box.lsblkFails ? { status: 1, stderr: "lsblk: failed to access sysfs" } : { stdout: JSON.stringify(lsblk) }) : undefined))
    .respond((argv) => (argv[0] === "lvm" && argv[1] === "lvs" ? { stdout: box.backLv ? "  VA|back\n" : "" } : undefined))
    .respond((argv) => (argv[0] === "blkid" && box.backLv ? { stdout: "ext4\n" } : undefined))
    .respond((argv) => (argv[0] === "lvm" && argv[1] === "pvs" ? { stdout: JSON.stringify({ report: [{ pv: [{ pv_name: `${DISK}2`, vg_name: "centos" }] }] }) } : undefined))
    .respond((argv) => (argv[0] === "mount" && argv[2] === "rw" && box.oldRootMountFails ? { status: 32, stderr: "mount: wrong fs type" } : undefined))
    .respond((argv) => (argv[0] === "findmnt" ? { status: 1 } : undefined))
    .respond((argv) => (argv[0] === "filefrag" ? { status: 1, stderr: "no FIEMAP here" } : undefined));
  return { paths, run };
}

const noToolMissing = () => {};
/** The fixture's staged manifest is not signed: these tests are about where a refusal leaves the box, not about signatures. */
const UNSIGNED_FIXTURE_TRUST = { keyring: "/nonexistent/keyring", insecure: true, allowDowngrade: false };
const handedBack = (paths: Paths) => existsSync(join(paths.workDir, OLD_SYSTEM_INTACT_MARKER));
const journalOnOldRoot = (paths: Paths) => join(paths.oldRootMount, paths.targetStateDir, "journal.json");

async function migrate(world: ReturnType<typeof tinySystem>, checkTools: () => void = noToolMissing) {
  return migrateOrHandBack({ ...world, log: silentLog() }, { dir: "/etc/upd", trust: UNSIGNED_FIXTURE_TRUST }, checkTools).then(
    () => undefined,
    (error: unknown) => error as Error & { exitCode: number },
  );
}

describe("issue 13 item 4: failures before the point of no return that happen in prepare leave the box at a shell instead of handing back", () => {
  for (const [what, box, exitCode] of [
    ["probe failure: no old root found", { osRelease: false }, ExitCode.probe],
    ["plan refusal: the layout is larger than the disk", { diskBytes: 4 * GIB }, ExitCode.layout],
    ["manifest error: the staged manifest is not valid", { manifest: '{"version": 1}' }, ExitCode.manifest],
  ] as const) {
    test(`${what}: the old system is marked intact and the journal's result is saved on the old root`, async () => {
      const world = tinySystem(box);
      const error = await migrate(world);
      expect({ message: error?.message, exitCode: error?.exitCode }).toMatchObject({ exitCode });
      expect(handedBack(world.paths)).toBe(true);
      if (exitCode !== ExitCode.probe) {
        expect(Journal.open(journalOnOldRoot(world.paths)).result).toMatchObject({ outcome: "failed", step: "prepare", exitCode });
        expect(world.run.calls).toContainEqual(["mount", "-o", "rw", "-t", "ext4", ROOT_LV, world.paths.oldRootMount]);
      }
      expect(world.run.calls.some((argv) => ["wipefs", "sgdisk", "pvcreate", "vgremove"].includes(argv[0]!) || argv[1] === "vgremove")).toBe(false);
    });
  }

  test("a tool missing from the tiny system: handed back, the result (exit 8) saved on the old root", async () => {
    const world = tinySystem();
    const error = await migrate(world, () => {
      throw new ToolMissingError("sgdisk");
    });
    expect(error?.exitCode).toBe(ExitCode.toolMissing);
    expect(handedBack(world.paths)).toBe(true);
    expect(Journal.open(journalOnOldRoot(world.paths)).result).toMatchObject({ outcome: "failed", step: "tool-check", exitCode: ExitCode.toolMissing });
    expect(Journal.open(journalOnOldRoot(world.paths)).entries).toEqual([]);
  });

  test("the probe itself fails (lsblk): the old root is unknown, so nothing is saved on it, and the box still hands back", async () => {
    const world = tinySystem({ lsblkFails: true });
    const error = await migrate(world);
    expect(error?.exitCode).toBe(ExitCode.command);
    expect(handedBack(world.paths)).toBe(true);
    expect(world.run.calls.some((argv) => argv[0] === "mount" && argv[2] === "rw")).toBe(false);
    expect(existsSync(journalOnOldRoot(world.paths))).toBe(false);
    expect(Journal.open(world.paths.journalFile).result).toMatchObject({ outcome: "failed", step: "prepare", exitCode: ExitCode.command });
  });

  test("the old root cannot be mounted read-write: still handed back (nothing was written), the journal stays in RAM", async () => {
    const world = tinySystem({ diskBytes: 4 * GIB, oldRootMountFails: true });
    const error = await migrate(world);
    expect(error?.exitCode).toBe(ExitCode.layout);
    expect(handedBack(world.paths)).toBe(true);
    expect(existsSync(journalOnOldRoot(world.paths))).toBe(false);
  });

  test("a resume from the store that fails (its disk is not attached) is past the point of no return: no hand-back", async () => {
    const world = tinySystem({ backLv: true });
    // A committed store on VA-back, for a disk this boot does not have.
    const dir = storeDir(world.paths);
    mkdirSync(dir, { recursive: true });
    for (const file of ["manifest.json", "plan.json"]) writeFileSync(join(dir, file), "{}");
    const meta = { format: 1, createdAt: "2026-01-01T00:00:00Z", device: "/dev/mapper/VA-back", disk: { path: "/dev/sda", identity: { sizeBytes: 6 * GIB, serial: "GONE", partitionTableIds: [] } }, files: ["manifest.json", "plan.json"].map((file) => ({ file, bytes: 2, sha256: "0".repeat(64) })) };
    writeFileSync(join(dir, STORE_META_FILE), JSON.stringify(meta));
    const error = await migrate(world);
    expect(error?.name).toBe("TargetDiskError");
    expect(handedBack(world.paths)).toBe(false);
    expect(world.run.calls.some((argv) => argv[0] === "mount" && argv[2] === "rw")).toBe(false);
  });
});
