import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseGrubenv } from "../../agent/bootloader/grubenv.ts";
import { runInstall } from "../../agent/slots/install-run.ts";
import { runningFstab, slotFstab } from "../../agent/slots/install-fstab.ts";
import { removeWorkspaces } from "./bundle-fixture.ts";
import { KVER } from "./fixtures/new-root.ts";
import { snapshot } from "./old-box-fixture.ts";
import { installContext, RUNNING_FSTAB, SHARED_BOOT_UUID, slotWorld } from "./slot-install-fixture.ts";

afterAll(removeWorkspaces);

const PAYLOAD_FSTAB = "UUID=build-host-root / ext4 defaults 0 1\nUUID=build-host-boot /boot ext4 defaults 0 2\ntmpfs /tmp tmpfs defaults,size=512m 0 0\n";

describe("the slot's fstab", () => {
  test("its root by device-mapper name, the shared boot partition by UUID, the running system's other lines whole, the payload's kernel filesystems", () => {
    const text = slotFstab({ slot: "B", device: "/dev/mapper/VA-back", fstype: "ext4", running: runningFstab(RUNNING_FSTAB), payload: PAYLOAD_FSTAB });
    expect(text).toBe(
      [
        "# va-agent install: slot B's root, the shared boot partition, and the running system's other filesystems",
        "/dev/mapper/VA-back\t/\text4\tdefaults\t0\t1",
        `UUID=${SHARED_BOOT_UUID}\t/boot/va\text4\tdefaults\t0\t2`,
        "/dev/mapper/VA-data\t/data\text4\tdefaults\t0\t2",
        "# carried over by va-agent: filesystems the old system mounted from other disks and the network",
        "nas:/export\t/mnt/nas\tnfs\tdefaults,nofail\t0\t0",
        "# end of what va-agent carried over",
        "# va-agent install: the payload's kernel filesystems",
        "tmpfs /tmp tmpfs defaults,size=512m 0 0",
        "",
      ].join("\n"),
    );
  });

  test("a second install reads its own header back without repeating it; xfs roots are not fsck'd at boot", () => {
    const first = slotFstab({ slot: "B", device: "/dev/mapper/VA-back", fstype: "xfs", running: runningFstab(RUNNING_FSTAB), payload: "" });
    const again = slotFstab({ slot: "A", device: "/dev/mapper/VA-root", fstype: "xfs", running: runningFstab(first), payload: "" });
    expect(again.match(/# va-agent install:/g)).toHaveLength(1);
    expect(again).toContain("/dev/mapper/VA-root\t/\txfs\tdefaults\t0\t0\n");
    expect(again).not.toContain("VA-back");
    expect(again).toContain("/dev/mapper/VA-data\t/data");
  });

});

describe("what an install writes into the slot (fake runner, temp roots)", () => {
  test("Debian image: fstab, slot-boot.env from the running slot, the image's own kernel links kept, agent, keys, records, units, carried config", async () => {
    const world = await slotWorld({ payload: "debian" });
    const before = snapshot(world.root);
    await runInstall(await installContext(world), world.run, world.log);
    const slot = world.setup.slotTarget;
    const read = (path: string) => readFileSync(join(slot, path), "utf8");
    expect(read("etc/fstab")).toStartWith("# va-agent install: slot B's root");
    expect(read("etc/fstab")).toContain("/dev/mapper/VA-back\t/\text4\tdefaults\t0\t1\n");
    expect(read("etc/fstab")).not.toContain("build-host");
    expect(existsSync(join(slot, "boot/va"))).toBe(true);
    const env = readFileSync(join(slot, "etc/va-agent/slot-boot.env"), "latin1");
    expect(env.length).toBe(1024);
    expect(parseGrubenv(env).get("va_cmdline")).toBe("console=ttyS0,115200");
    expect(readlinkSync(join(slot, "vmlinuz"))).toBe(`boot/vmlinuz-${KVER}`);
    expect(readlinkSync(join(slot, "initrd.img"))).toBe(`boot/initrd.img-${KVER}`);
    expect(read("usr/sbin/va-agent")).toBe("#!/bin/sh\necho running agent\n");
    expect(statSync(join(slot, "usr/sbin/va-agent")).mode & 0o777).toBe(0o755);
    expect(read("etc/va-agent/keys/vendor.pub")).toBe(readFileSync(world.ws.keys.publicKeyFile, "utf8"));
    expect(JSON.parse(read("etc/va-agent/installed.json")).product).toEqual({ name: "va", release: "13.1" });
    expect(JSON.parse(read("etc/va-agent/slot-layout.json"))).toEqual(JSON.parse(readFileSync(join(world.root, "etc/va-agent/slot-layout.json"), "utf8")));
    for (const unit of ["va-slot-commit.service", "va-health-running.service", "va-slot-failed.service"]) expect(read(`etc/systemd/system/${unit}`)).toContain("ExecStart=/usr/sbin/va-agent slot ");
    expect(readlinkSync(join(world.setup.slotTarget, "etc/systemd/system/multi-user.target.wants/va-slot-commit.service"))).toBe("/etc/systemd/system/va-slot-commit.service");
    expect(read("etc/hostname")).toBe("box-17\n");
    expect(read("etc/shadow")).toContain("root:$6$run$roothash:");
    expect(read("etc/shadow")).toContain("admin:$6$run$adminhash:");
    // nothing of the running system changed, and the captured secrets left RAM
    expect(snapshot(world.root)).toEqual(before);
    expect(existsSync(join(world.setup.workDir, "captured-config.json"))).toBe(false);
  });

  test("EL image: /vmlinuz and /initrd.img made for the newest kernel; va_cmdline from its GRUB_CMDLINE_LINUX when the running slot has none", async () => {
    const world = await slotWorld({ payload: "el", runningSlotBootEnv: false });
    await runInstall(await installContext(world), world.run, world.log);
    const slot = world.setup.slotTarget;
    expect(readlinkSync(join(slot, "vmlinuz"))).toBe(`boot/vmlinuz-${KVER}`);
    expect(readlinkSync(join(slot, "initrd.img"))).toBe(`boot/initramfs-${KVER}.img`);
    expect(parseGrubenv(readFileSync(join(slot, "etc/va-agent/slot-boot.env"), "latin1")).get("va_cmdline")).toBe("crashkernel=auto rhgb quiet");
  });

  test("an EL image without the initramfs of its kernel: refused after extraction, the slot stays bad", async () => {
    const world = await slotWorld({ payload: "el" });
    // every responder sees each command, in order: this one runs after the faked extraction laid the root down
    world.run.respond((argv) => (argv[0] === "tar" && argv[1] === "--extract" && argv[2] === "--xz" ? (rmSync(join(world.setup.slotTarget, `boot/initramfs-${KVER}.img`)), undefined) : undefined));
    await expect(runInstall(await installContext(world), world.run, world.log)).rejects.toThrow(`the slot's root has no initramfs for its kernel ${KVER}`);
    expect(world.state.calls).toEqual(["beginInstall B"]);
  });
});
