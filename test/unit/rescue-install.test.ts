import { rejection as refusal } from "./fixtures/refusal.ts";
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LVS_FIELDS } from "../../agent/lvm/logical-volumes.ts";
import { formatArgv } from "../../agent/runner/argv-text.ts";
import { defaultTarget } from "../../agent/rescue/rescue-install.ts";
import { removeWorkspaces } from "./bundle-fixture.ts";
import { FakeRunner } from "./fake-runner.ts";
import { boxLvs, fakeTools, GIB, lvsJson, rescueBootDir, rescueCli } from "./rescue-fixture.ts";
import { layDownSlotPayload, recordingState, slotWorld, type SlotWorld } from "./slot-install-fixture.ts";
import { migratedBox, twoReleaseBox } from "./slot-fixture.ts";

afterAll(removeWorkspaces);

const LSBLK = "lsblk --json --bytes --list --paths -o PATH,TYPE,SIZE,FSTYPE,PKNAME,MOUNTPOINT,TRAN,UUID,LABEL,WWN,SERIAL,PTUUID";
const LVS = `lvm lvs --reportformat json --units b --nosuffix --all --options ${LVS_FIELDS} VA`;

const DEVICES = [
  { path: "/dev/mapper/VA-root", type: "lvm", size: 4 * GIB, fstype: "ext4", pkname: "/dev/vda3", label: "va-slot-A" },
  { path: "/dev/mapper/VA-back", type: "lvm", size: 4 * GIB, fstype: null, pkname: "/dev/vda3" },
  { path: "/dev/mapper/VA-data", type: "lvm", size: 8 * GIB, fstype: "ext4", pkname: "/dev/vda3", label: "data" },
  { path: "/dev/sdb1", type: "part", size: 8e9, fstype: "vfat", pkname: "/dev/sdb", label: "VA-STICK" },
];

/** The rescue system's runner: lsblk and lvs answered, and what a slot install's commands need (as in slot-install-fixture). */
function rescueInstallWorld(world: SlotWorld) {
  const run = new FakeRunner()
    .respond((argv) => (argv[0] === "lsblk" ? { stdout: JSON.stringify({ blockdevices: DEVICES }) } : undefined))
    .respond((argv) => (argv[0] === "lvm" && argv[1] === "lvs" && argv.includes("--reportformat") ? { stdout: lvsJson(boxLvs()) } : undefined))
    .respond((argv) => (argv[0] === "lvm" && argv[1] === "lvs" ? { stdout: `  ${4 * GIB}\n` } : undefined))
    .respond((argv) => (argv[0] === "tar" && argv[1] === "--extract" && argv.includes("--xz") ? (layDownSlotPayload(world.setup.slotTarget, "debian"), {}) : undefined))
    .respond((argv) => (argv[0] === "tar" && argv[1] === "--create" ? (writeFileSync(argv[2]!.slice("--file=".length), "archive"), {}) : undefined))
    .respond((argv) => (argv[0] === "ip" ? { stdout: "[]" } : undefined));
  const state = recordingState(run);
  const mediaDir = mkdtempSync(join(tmpdir(), "va-rescue-media-"));
  const cli = rescueCli(run, fakeTools(run), {
    installPaths: { mediaDir, sourceMount: world.root, workDir: world.setup.workDir, slotTarget: world.setup.slotTarget },
    installState: () => state,
  });
  return { run, state, cli, mediaDir, bootDir: rescueBootDir(migratedBox()) };
}


describe("va-agent rescue install", () => {
  test("a bundle path: the source slot A mounted read-only as the running system, the install's phases into B, then unmounted", async () => {
    const world = await slotWorld();
    const { run, state, cli, bootDir } = rescueInstallWorld(world);
    expect(await cli.rescue("install", world.bundle, "--boot-dir", bootDir)).toBe(0);
    const target = world.setup.slotTarget;
    const work = world.setup.workDir;
    expect(run.calls.map(formatArgv)).toEqual([
      LSBLK,
      LVS,
      `mount -o ro,noload -t ext4 /dev/mapper/VA-root ${world.root}`,
      `lvm lvs --units b --nosuffix --noheadings --options lv_size VA/back`,
      "ip -j -d addr show",
      "ip -j -4 route show",
      "ip -j -6 route show",
      `tar --create --file=${work}/carry-over-paths.tar --numeric-owner --acls --xattrs '--xattrs-include=*' --directory=${world.root} -- srv/appdata`,
      "'<beginInstall B>'",
      "lvm lvchange --activate y VA/back",
      "wipefs --all /dev/mapper/VA-back",
      "mkfs.ext4 -F -q -L va-slot-B /dev/mapper/VA-back",
      `mount -t ext4 /dev/mapper/VA-back ${target}`,
      `tar --extract --xz --file=- --numeric-owner --preserve-permissions --acls --xattrs '--xattrs-include=*' --directory=${target}`,
      `mount -t proc proc ${target}/proc`,
      `mount -t sysfs sysfs ${target}/sys`,
      `mount --rbind /dev ${target}/dev`,
      `mount --bind /run ${target}/run`,
      `chroot ${target} systemctl enable systemd-networkd.service`,
      `tar --extract --file=${work}/carry-over-paths.tar --numeric-owner --preserve-permissions --acls --xattrs '--xattrs-include=*' --directory=${target}`,
      `umount --recursive ${target}`,
      "sync",
      "'<finishInstall B va 13.1>'",
      `umount ${world.root}`,
    ]);
    expect(state.calls).toEqual(["beginInstall B", "finishInstall B va 13.1"]);
    expect(cli.text()).toBe("installed va 13.1 into slot B (LV VA/back): it boots next; reboot now (`sync; reboot -f`): it is committed once its health checks pass, else slot A boots again\n");
  });

  test("--label --dry-run: the stick and the source slot mounted read-only to read the facts, the plan printed, both unmounted, nothing written", async () => {
    const world = await slotWorld();
    const { run, state, cli, bootDir, mediaDir } = rescueInstallWorld(world);
    mkdirSync(join(mediaDir, "VA-STICK"));
    copyFileSync(world.bundle, join(mediaDir, "VA-STICK/va-13.1.tar"));
    expect(await cli.rescue("install", "--label", "VA-STICK", "--dry-run", "--boot-dir", bootDir)).toBe(0);
    expect(run.calls.map(formatArgv)).toEqual([
      LSBLK,
      LVS,
      `mount -o ro -t vfat /dev/sdb1 ${mediaDir}/VA-STICK`,
      `mount -o ro,noload -t ext4 /dev/mapper/VA-root ${world.root}`,
      `umount ${world.root}`,
      `umount ${mediaDir}/VA-STICK`,
    ]);
    const text = cli.text();
    expect(text).toStartWith(`va-agent rescue install: from the rescue system, slot A as the running system\n  bundle     : ${mediaDir}/VA-STICK/va-13.1.tar, on /dev/sdb1 mounted read-only: + mount -o ro -t vfat /dev/sdb1 ${mediaDir}/VA-STICK\n`);
    expect(text).toContain("va-agent install: va 13.1 into slot B from ");
    expect(text).toContain("12. finish-install [writes the slot state on the shared boot partition]");
    expect(text).toContain(`after the install (also after a failure): + umount ${world.root}; + umount ${mediaDir}/VA-STICK`);
    expect(state.calls).toEqual([]);
  });

  test("the install refuses (an older release): what was mounted is unmounted, nothing written, exit as the install's", async () => {
    const world = await slotWorld({ release: "12.0" });
    const { run, state, cli, bootDir } = rescueInstallWorld(world);
    expect(await cli.rescue("install", world.bundle, "--json", "--boot-dir", bootDir)).toBe(5);
    expect(JSON.parse(cli.text()).error.hint).toContain("--allow-downgrade");
    expect(run.calls.map(formatArgv).at(-1)).toBe(`umount ${world.root}`);
    expect(state.calls).toEqual([]);
  });

  test("into the slot whose other one is empty: refused before any command, naming the slot to use", async () => {
    const world = await slotWorld();
    const { run, cli, bootDir } = rescueInstallWorld(world);
    const error = await refusal(cli.rescue("install", world.bundle, "--slot", "A", "--boot-dir", bootDir));
    expect(error.message).toBe("cannot install into slot A: slot B, whose configuration and agent the new slot takes, is empty");
    expect(error.hint).toContain("--slot B");
    expect(run.calls).toEqual([]);
  });

  test("outside the rescue system: refused, pointing at va-agent install", async () => {
    const world = await slotWorld();
    const { run } = rescueInstallWorld(world);
    const error = await refusal(rescueCli(run, fakeTools(run), { cmdline: "va.slot=A" }).rescue("install", world.bundle, "--boot-dir", rescueBootDir(migratedBox())));
    expect(error.hint).toContain("`va-agent install BUNDLE`");
    expect(run.calls).toEqual([]);
  });

  test("BUNDLE and --label together, or neither: usage errors (exit 2)", async () => {
    const world = await slotWorld();
    const { cli, bootDir } = rescueInstallWorld(world);
    expect(await cli.rescue("install", world.bundle, "--label", "X", "--json", "--boot-dir", bootDir)).toBe(2);
    await expect(cli.rescue("install", "--boot-dir", bootDir)).rejects.toThrow("rescue install needs the slot image");
  });
});

describe("the slot an install from the rescue system writes by default", () => {
  test("not the one committed last; with none committed, not the first installed in ORDER", () => {
    const two = twoReleaseBox();
    expect(defaultTarget(two.metadata, two.env.order)).toBe("B");
    const bLater = { ...two.metadata, slots: { ...two.metadata.slots, B: { ...two.metadata.slots.B, committedAt: "2027-01-01T00:00:00.000Z" } } };
    expect(defaultTarget(bLater, ["A", "B"])).toBe("A");
    const uncommitted = { ...two.metadata, slots: { A: { ...two.metadata.slots.A, committedAt: null }, B: { ...two.metadata.slots.B, committedAt: null } } };
    expect(defaultTarget(uncommitted, ["B", "A"])).toBe("A");
    expect(defaultTarget(migratedBox().metadata, ["A", "B"])).toBe("B");
  });
});
