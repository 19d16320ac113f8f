import { listBlockDevices } from "../disk/lsblk.ts";
import { ensureMounted, mountedTargets } from "../disk/mounts.ts";
import { RescueError } from "../errors/errors.ts";
import { listLogicalVolumes } from "../lvm/logical-volumes.ts";
import { logicalVolumeDevice } from "../plan/plan.ts";
import { formatArgv } from "../runner/argv-text.ts";
import { installSetup, type InstallContext } from "../slots/install-context.ts";
import { readInstallFacts } from "../slots/install-facts.ts";
import { installPlanLines } from "../slots/install-plan.ts";
import { runInstall, type InstallResult } from "../slots/install-run.ts";
import type { SlotStateWriter } from "../slots/install-state.ts";
import { otherSlot, SLOT_NAMES, type SlotName } from "../slots/slot-env.ts";
import type { SlotMetadata } from "../slots/slot-metadata.ts";
import { describeContent } from "../slots/slot-status.ts";
import { fileSlotStore } from "../slots/slot-store.ts";
import { findBundle, mountArgv, unmountArgv, unmountMedium, type BundleQuery, type FoundBundle, type Medium } from "./bundle-search.ts";
import type { RescueContext } from "./rescue-context.ts";

/** Where the source slot is mounted, read-only, while the install reads its configuration. */
export const SOURCE_SLOT_MOUNT = "/run/va-agent/source-slot";

export interface RescueInstallRequest {
  query: BundleQuery;
  /** The slot written; null: the one that is not the most recently good. */
  slot: SlotName | null;
  allowDowngrade: boolean;
  insecure: boolean;
  /** Default: the source slot's trusted keys. */
  keyring?: string;
  /** The LVs that are not data (the factory image's): never searched. */
  notData: string[];
  mediaDir?: string;
  sourceMount?: string;
  workDir?: string;
  slotTarget?: string;
}

/** An install from the rescue system, ready to run: what is mounted for it, and the install's own context. */
export interface RescueInstall {
  source: SlotName;
  target: SlotName;
  found: FoundBundle;
  /** The source slot, mounted read-only: the install's "running system". */
  sourceMedium: Medium;
  ictx: InstallContext;
}

/**
 * The slot an install from the rescue system writes by default: not the one most recently committed
 * (the last release known to come up healthy is kept), else not the one GRUB tries first.
 */
export function defaultTarget(metadata: SlotMetadata, order: readonly SlotName[]): SlotName {
  const installed = SLOT_NAMES.filter((slot) => metadata.slots[slot].state === "installed");
  const committed = installed.filter((slot) => metadata.slots[slot].committedAt !== null).sort((a, b) => metadata.slots[b].committedAt!.localeCompare(metadata.slots[a].committedAt!));
  const keep = committed[0] ?? installed.sort((a, b) => order.indexOf(a) - order.indexOf(b))[0] ?? "A";
  return otherSlot(keep);
}

/**
 * Everything read before the plan: the target and source slots, the bundle (found and, on a medium,
 * mounted read-only), the source slot mounted read-only as the install's running system, and the
 * install's facts. A refusal unmounts what this mounted; nothing is written.
 */
export async function prepareRescueInstall(rctx: RescueContext, request: RescueInstallRequest, state: SlotStateWriter): Promise<RescueInstall> {
  const slots = fileSlotStore(rctx.bootMount).read();
  const target = request.slot ?? defaultTarget(slots.metadata, slots.env.order);
  const source = otherSlot(target);
  if (slots.metadata.slots[source].state !== "installed") {
    throw new RescueError(
      `cannot install into slot ${target}: slot ${source}, whose configuration and agent the new slot takes, is ${describeContent(slots.metadata, source)}`,
      `Nothing was changed. Install into slot ${source} instead (\`--slot ${source}\`): slot ${target} is then the source.`,
      { refusal: "source-slot-not-installed", source, target },
    );
  }
  const devices = await listBlockDevices(rctx.run);
  const lvs = await listLogicalVolumes(rctx.run, rctx.vg);
  const notData = new Set([slots.metadata.slots.A.lv, slots.metadata.slots.B.lv, ...request.notData]);
  const dataDevices = lvs.filter((lv) => lv.origin === null && !notData.has(lv.name)).map((lv) => logicalVolumeDevice(rctx.vg, lv.name));
  const found = await findBundle(rctx.run, request.query, devices, dataDevices, request.mediaDir);
  const mounted: Medium[] = found.medium ? [found.medium] : [];
  try {
    const sourceMedium = await mountSourceSlot(rctx, slots.metadata.slots[source].lv, source, devices, request.sourceMount ?? SOURCE_SLOT_MOUNT);
    mounted.push(sourceMedium);
    // The source slot plays the running system; the target is the other one.
    const setup = installSetup({
      bundle: found.bundle,
      root: sourceMedium.mountpoint,
      cmdline: "",
      sourceSlot: source,
      ...(request.keyring ? { keyring: request.keyring } : {}),
      insecure: request.insecure,
      allowDowngrade: request.allowDowngrade,
      ...(request.workDir ? { workDir: request.workDir } : {}),
      ...(request.slotTarget ? { slotTarget: request.slotTarget } : {}),
    });
    const facts = await readInstallFacts(setup);
    return { source, target, found, sourceMedium, ictx: { setup, facts, state } };
  } catch (error) {
    await unmountAll(rctx, mounted);
    throw error;
  }
}

export function rescueInstallPlanLines(install: RescueInstall): string[] {
  const { found, sourceMedium, source } = install;
  const medium = found.medium;
  return [
    `va-agent rescue install: from the rescue system, slot ${source} as the running system`,
    `  bundle     : ${found.bundle}${medium ? `, on ${medium.device} ${medium.mountedHere ? `mounted read-only: + ${formatArgv(mountArgv(medium.device, medium.fstype, medium.mountpoint))}` : `(mounted at ${medium.mountpoint} already)`}` : ""}`,
    `  source slot: ${source}, ${sourceMedium.mountedHere ? `mounted read-only: + ${formatArgv(mountArgv(sourceMedium.device, sourceMedium.fstype, sourceMedium.mountpoint))}` : `at ${sourceMedium.mountpoint} already`} (its configuration, agent, keys and units go into the new slot)`,
    "",
    ...installPlanLines(install.ictx),
    "",
    `after the install (also after a failure): ${unmountLines(install).join("; ") || "nothing to unmount"}`,
  ];
}

/** Runs the install's phases; the source slot and the medium are unmounted after it, whatever happened. */
export async function runRescueInstall(rctx: RescueContext, install: RescueInstall): Promise<Omit<InstallResult, "performed">> {
  try {
    const { performed: _, ...result } = await runInstall(install.ictx, rctx.run, rctx.log);
    return result;
  } finally {
    await releaseRescueInstall(rctx, install);
  }
}

export async function releaseRescueInstall(rctx: RescueContext, install: RescueInstall): Promise<void> {
  await unmountAll(rctx, [...(install.found.medium ? [install.found.medium] : []), install.sourceMedium]);
}

function unmountLines(install: RescueInstall): string[] {
  return [install.sourceMedium, ...(install.found.medium ? [install.found.medium] : [])].filter((m) => m.mountedHere).map((m) => `+ ${formatArgv(unmountArgv(m))}`);
}

async function mountSourceSlot(rctx: RescueContext, lv: string, slot: SlotName, devices: Awaited<ReturnType<typeof listBlockDevices>>, mountpoint: string): Promise<Medium> {
  const device = logicalVolumeDevice(rctx.vg, lv);
  const fstype = devices.find((d) => d.path === device)?.fstype;
  if (!fstype) {
    throw new RescueError(
      `slot ${slot}'s LV ${rctx.vg}/${lv} (${device}) ${devices.some((d) => d.path === device) ? "holds no filesystem" : "is not active"}: the install cannot read its configuration`,
      `Nothing was changed. Activate the VG (\`lvm vgchange --activate y ${rctx.vg}\`), or install into slot ${slot} instead (\`--slot ${slot}\`).`,
      { refusal: "source-slot-unreadable", slot, lv },
    );
  }
  const mountedHere = !mountedTargets().has(mountpoint);
  await ensureMounted(rctx.run, mountArgv(device, fstype, mountpoint), { readOnly: true });
  return { device, fstype, mountpoint, mountedHere };
}

async function unmountAll(rctx: RescueContext, media: Medium[]): Promise<void> {
  for (const medium of media.reverse()) await unmountMedium(rctx.run, medium);
}
