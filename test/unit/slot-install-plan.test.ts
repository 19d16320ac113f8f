import { afterAll, describe, expect, test } from "bun:test";
import { formatArgv } from "../../agent/runner/argv-text.ts";
import { INSTALL_PHASES } from "../../agent/slots/install-phases.ts";
import { runInstall } from "../../agent/slots/install-run.ts";
import { outline } from "../../agent/steps/outline.ts";
import { removeWorkspaces } from "./bundle-fixture.ts";
import { conforms } from "./fixtures/plan-conformance.ts";
import { installContext, slotWorld, type SlotWorld } from "./slot-install-fixture.ts";

afterAll(removeWorkspaces);

/** Every command of an install in order, with the slot state transitions where they happen. */
function expectedTimeline(world: SlotWorld, into: { slot: "A" | "B"; lv: string }): string[] {
  const target = world.setup.slotTarget;
  const work = world.setup.workDir;
  return [
    `lvm lvs --units b --nosuffix --noheadings --options lv_size VA/${into.lv}`,
    "ip -j -d addr show",
    "ip -j -4 route show",
    "ip -j -6 route show",
    `tar --create --file=${work}/carry-over-paths.tar --numeric-owner --acls --xattrs '--xattrs-include=*' --directory=${world.root} -- srv/appdata`,
    `'<beginInstall ${into.slot}>'`,
    `lvm lvchange --activate y VA/${into.lv}`,
    `wipefs --all /dev/mapper/VA-${into.lv}`,
    `mkfs.ext4 -F -q -L va-slot-${into.slot} /dev/mapper/VA-${into.lv}`,
    `mount -t ext4 /dev/mapper/VA-${into.lv} ${target}`,
    `tar --extract --xz --file=- --numeric-owner --preserve-permissions --acls --xattrs '--xattrs-include=*' --directory=${target}`,
    `mount -t proc proc ${target}/proc`,
    `mount -t sysfs sysfs ${target}/sys`,
    `mount --rbind /dev ${target}/dev`,
    `mount --bind /run ${target}/run`,
    `chroot ${target} systemctl enable systemd-networkd.service`,
    `tar --extract --file=${work}/carry-over-paths.tar --numeric-owner --preserve-permissions --acls --xattrs '--xattrs-include=*' --directory=${target}`,
    `umount --recursive ${target}`,
    "sync",
    `'<finishInstall ${into.slot} va 13.1>'`,
  ];
}

describe("va-agent install: the exact commands, in order", () => {
  test("booted from A, the image goes to B (LV back): begin before the first write to the LV, finish after it is unmounted and synced", async () => {
    const world = await slotWorld({ booted: "A" });
    const result = await runInstall(await installContext(world), world.run, world.log);
    expect(world.run.calls.map(formatArgv)).toEqual(expectedTimeline(world, { slot: "B", lv: "back" }));
    expect(result).toMatchObject({ slot: "B", from: "A", vg: "VA", lv: "back", device: "/dev/mapper/VA-back", product: { name: "va", release: "13.1" }, previous: { name: "va", release: "13.0" }, downgrade: false });
    expect(result.phases.map((p) => p.name)).toEqual(INSTALL_PHASES.map((p) => p.name));
  });

  test("booted from B, the image goes to A (LV root)", async () => {
    const world = await slotWorld({ booted: "B" });
    await runInstall(await installContext(world), world.run, world.log);
    expect(world.run.calls.map(formatArgv)).toEqual(expectedTimeline(world, { slot: "A", lv: "root" }));
  });

  test("no command names the running slot's LV or /data", async () => {
    for (const booted of ["A", "B"] as const) {
      const world = await slotWorld({ booted });
      await runInstall(await installContext(world), world.run, world.log);
      const running = booted === "A" ? "root" : "back";
      const text = world.run.calls.map(formatArgv).join("\n");
      expect(text).not.toContain(`VA-${running}`);
      expect(text).not.toContain(`VA/${running}`);
      expect(text).not.toContain("VA-data");
      expect(text).not.toMatch(/[ =]\/data\b/);
    }
  });
});

describe("the install's plan is the run", () => {
  for (const payload of ["debian", "el"] as const) {
    test(`a ${payload} image: every phase performs exactly the entries the plan renders, skipped only where it says so`, async () => {
      const world = await slotWorld({ payload });
      const ictx = await installContext(world);
      const planned = INSTALL_PHASES.map((phase) => ({ phase: phase.name, outline: outline(phase.entries(ictx)) }));
      const result = await runInstall(ictx, world.run, world.log);
      expect(result.performed.map((p) => p.phase)).toEqual(planned.map((p) => p.phase));
      planned.forEach((p, i) => conforms(p.outline, result.performed[i]!.entries, p.phase));
    });
  }
});
