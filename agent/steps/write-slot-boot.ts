import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { renderGrubenv } from "../bootloader/grubenv.ts";
import { DEFAULT_KEYRING_DIR } from "../bundle/keyring.ts";
import { carriedArgs, runningCmdline } from "../bootloader/resume-entry.ts";
import { TINY_CMDLINE } from "../bootloader/tiny-cmdline.ts";
import { writeFileAtomically } from "../disk/write-file-atomically.ts";
import { undetectedDistro } from "../distro/adapter.ts";
import { mountLocation } from "../plan/plan.ts";
import { grubLvmIdDevice, renderSlotBootMenu } from "../slots/boot-menu.ts";
import { withSharedBootMount } from "../slots/shared-boot-fstab.ts";
import { defaultGrubCmdline, slotBootEnv } from "../slots/install-boot-env.ts";
import { copyTrustedKeys } from "../slots/install-agent-files.ts";
import { hasKernelLinks, writeKernelLinks } from "../slots/install-kernel-links.ts";
import { SLOT_LAYOUT_FILE, slotLayoutRecord } from "../slots/slot-layout.ts";
import { activate, markBad, type SlotEnv, varsWithSlotEnv } from "../slots/slot-env.ts";
import { emptySlotMetadata, type SlotMetadata, withSlotRecord, writeSlotMetadata } from "../slots/slot-metadata.ts";
import { grubCfgPath, grubenvPath, GRUBENV_SIZE, RESCUE_DIR, rescueDir, slotBootEnvPath, slotsMetadataPath } from "../slots/slot-paths.ts";
import { installSlotUnits, SLOT_AGENT_PATH, SLOT_UNIT_FILES } from "../slots/slot-units.ts";
import { type Entry, later, type Later, write } from "./entry.ts";
import type { PlanContext, Step } from "./step.ts";

/**
 * Sets the disk up for A/B slots instead of the distribution's grub.cfg: slot A holds the new
 * system (good, its first boot counted like any other and committed by the same unit), slot B is
 * empty and marked so, the tiny system stays on the shared partition as the rescue entry.
 */
export const writeSlotBoot: Step = {
  name: "write-slot-boot",
  summary: "the agent's slot boot menu and environment on the shared /boot, the rescue system, the agent and its commit units in slot A",
  destructive: true,
  requires: ["target"],
  reads: (manifest) => (manifest.slots && manifest.tinySystem ? [manifest.tinySystem.kernel.file, manifest.tinySystem.initramfs.file] : []),
  applies: (ctx) => (ctx.plan.slots ? true : "the manifest has no slots: the distribution's grub.cfg boots the new system"),
  entries: (ctx: PlanContext): Entry[] => [...slotRootEntries(ctx), ...sharedBootEntries(ctx)],
};

function slotRootEntries(ctx: PlanContext): Entry[] {
  const root = ctx.paths.targetRoot;
  const fstab = join(root, "etc/fstab");
  const env = slotBootEnvPath(root);
  const agent = join(root, SLOT_AGENT_PATH);
  return [
    write(fstab, `the /boot line moved to ${mountLocation(bootFilesystem(ctx))}: the slot's /boot (kernel, initramfs) is its own`, () =>
      writeFileAtomically(fstab, withSharedBootMount(readFileSync(fstab, "utf8")), { mode: 0o644 }),
    ),
    write(env, "va_cmdline: GRUB_CMDLINE_LINUX of the new root's /etc/default/grub", (run) => {
      mkdirSync(dirname(env), { recursive: true });
      writeFileAtomically(env, slotBootEnv(defaultGrubCmdline(run.paths.targetRoot)), { mode: 0o644 });
    }),
    write(join(root, "vmlinuz"), "symlinks /vmlinuz and /initrd.img to the newest kernel in the slot's /boot and its initramfs", (run) => void writeKernelLinks(run.paths.targetRoot, run.distro ?? undetectedDistro), {
      says: "/vmlinuz and /initrd.img name files of the slot already (the distribution keeps them)",
      holds: () => hasKernelLinks(root),
    }),
    write(join(root, SLOT_LAYOUT_FILE), `the slot layout (VG, the LVs of A and B, what is carried over${ctx.manifest.snapshots ? ", the snapshots settings" : ""}) for \`va-agent install\`${ctx.manifest.snapshots ? " and `va-agent snapshot`" : ""}`, () => {
      mkdirSync(dirname(join(root, SLOT_LAYOUT_FILE)), { recursive: true });
      const slots = ctx.plan.slots!;
      writeFileAtomically(join(root, SLOT_LAYOUT_FILE), slotLayoutRecord({ vg: ctx.plan.lvm.vg, slots: { A: slots.a.lv, B: slots.b.lv }, carryOver: ctx.manifest.carryOver, ...(ctx.manifest.snapshots ? { snapshots: ctx.manifest.snapshots } : {}) }), { mode: 0o644 });
    }),
    write(agent, "this agent, for the commit units and the operator", () => {
      mkdirSync(dirname(agent), { recursive: true });
      copyFileSync(process.execPath, agent);
      chmodSync(agent, 0o755);
    }),
    write(join(root, DEFAULT_KEYRING_DIR), `the trusted keys of ${DEFAULT_KEYRING_DIR}, for slot installs`, () => copyTrustedKeys("/", root), {
      says: `the tiny system has no ${DEFAULT_KEYRING_DIR}`,
      holds: () => !existsSync(DEFAULT_KEYRING_DIR),
    }),
    write(join(root, "etc/systemd/system"), `${SLOT_UNIT_FILES.map((unit) => unit.file).join(", ")} and their enable links: commit on health (docs/SLOTS.md)`, () =>
      installSlotUnits(root),
    ),
  ];
}

function sharedBootEntries(ctx: PlanContext): Entry[] {
  const boot = join(ctx.paths.targetRoot, mountLocation(bootFilesystem(ctx)));
  const tiny = ctx.manifest.tinySystem!;
  const rescue = rescueDir(boot);
  const slots = ctx.plan.slots!;
  const uuids = { A: lvIds(ctx, slots.a.lv), B: lvIds(ctx, slots.b.lv) };
  return [
    write(join(rescue, "linux"), "the tiny kernel, kept as the rescue system", (run) => copyInto(join(run.paths.payloadDir, tiny.kernel.file), join(rescue, "linux"))),
    write(join(rescue, "initrd.img"), "the tiny initramfs, kept as the rescue system", (run) =>
      copyInto(join(run.paths.payloadDir, tiny.initramfs.file), join(rescue, "initrd.img")),
    ),
    write(grubCfgPath(boot), `the slot boot menu (A = ${slots.a.lv} as ${uuids.A.placeholder}, B = ${slots.b.lv} as ${uuids.B.placeholder}, ${slots.tries} tries each, rescue)`, async (run) => {
      const menu = renderSlotBootMenu({
        tries: slots.tries,
        menuTimeoutSeconds: slots.menuTimeoutSeconds,
        slots: {
          A: { grubDevice: await uuids.A.resolve(run), linuxRoot: slots.a.device, label: `slot A (${slots.a.lv})` },
          B: { grubDevice: await uuids.B.resolve(run), linuxRoot: slots.b.device, label: `slot B (${slots.b.lv})` },
        },
        rescue: { kernel: `/${RESCUE_DIR}/linux`, initrd: `/${RESCUE_DIR}/initrd.img`, cmdline: rescueCmdline() },
      });
      mkdirSync(dirname(grubCfgPath(boot)), { recursive: true });
      writeFileAtomically(grubCfgPath(boot), menu, { mode: 0o644 });
    }, undefined, [...(uuids.A.asks ?? []), ...(uuids.B.asks ?? [])]),
    // slots.json before grubenv: GRUB is never pointed at a slot the metadata does not say is installed.
    write(slotsMetadataPath(boot), `A holds ${ctx.manifest.product.name} ${ctx.manifest.product.release}, B is empty; ${slots.tries} tries`, () =>
      writeSlotMetadata(boot, migratedSlotMetadata(ctx, new Date().toISOString())),
    ),
    write(grubenvPath(boot), "ORDER=A B, A good with no try counted yet, B empty (not good)", () => {
      writeFileAtomically(grubenvPath(boot), renderGrubenv(varsWithSlotEnv(new Map(), migratedSlotEnv()), GRUBENV_SIZE), { mode: 0o644 });
    }),
  ];
}

function migratedSlotMetadata(ctx: PlanContext, now: string): SlotMetadata {
  const slots = ctx.plan.slots!;
  const { name, release } = ctx.manifest.product;
  const empty = emptySlotMetadata({ lvs: { A: slots.a.lv, B: slots.b.lv }, tries: slots.tries, vg: ctx.plan.lvm.vg });
  return withSlotRecord(empty, "A", { state: "installed", product: name, release, installedAt: now });
}

/** What the migration leaves: A good and first, B not good (nothing is in it yet). */
export function migratedSlotEnv(): SlotEnv {
  const none: SlotEnv = { order: ["A", "B"], ok: { A: false, B: false }, tries: { A: 0, B: 0 }, rescueTask: null };
  return markBad(activate(none, "A"), "B");
}

/** GRUB finds a slot by its LVM UUIDs, never by a BIOS disk number; known once create-volumes ran. */
function lvIds(ctx: PlanContext, lv: string): Later<string> {
  const { vg } = ctx.plan.lvm;
  const argv = ["lvm", "lvs", "--noheadings", "-o", "vg_uuid,lv_uuid", `${vg}/${lv}`];
  return later(
    `<lvmid of ${vg}/${lv}>`,
    async (run) => {
      const [vgUuid, lvUuid] = (await run.run.run(argv, { readOnly: true })).stdout.trim().split(/\s+/);
      if (!vgUuid || !lvUuid) throw new Error(`lvs printed no UUIDs for ${vg}/${lv}`);
      return grubLvmIdDevice(vgUuid, lvUuid);
    },
    [argv],
  );
}

function rescueCmdline(): string {
  return [...carriedArgs(runningCmdline()).filter((arg) => arg.startsWith("console=")), TINY_CMDLINE].join(" ");
}

function bootFilesystem(ctx: PlanContext) {
  return ctx.plan.mounts.find((fs) => fs.mountpoint === "/boot")!;
}


function copyInto(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}


