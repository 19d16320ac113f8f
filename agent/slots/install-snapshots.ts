import { InstallError } from "../errors/errors.ts";
import { listLogicalVolumes, lvsArgv, type LogicalVolume } from "../lvm/logical-volumes.ts";
import { snapshotRecordOf } from "../snapshots/create.ts";
import { BEFORE_UPGRADE_NAME, snapshotLvName, snapshotNameOf, snapshotTag, SNAPSHOT_TAG } from "../snapshots/names.ts";
import { removeSnapshotRecord, snapshotRecordPath, writeSnapshotRecord } from "../snapshots/records.ts";
import { lvNamed, snapshotVolumes } from "../snapshots/snapshot-facts.ts";
import { extentsOf, gib, volumeGroupSpace, vgsArgv } from "../snapshots/volume-group.ts";
import type { StepContext } from "../steps/step.ts";
import { check, command, each, later, write, type Condition, type Entry } from "../steps/entry.ts";
import type { InstallContext } from "./install-context.ts";

/**
 * An install rewrites the whole target LV: a snapshot of it would overflow at once and keep
 * nothing, so the install refuses a target with snapshots (the operator merges or deletes them).
 * The one exception is the agent's own before-upgrade snapshot when the layout has the install
 * take a new one: it was taken of this LV by the previous install, when it was the running slot,
 * and this install replaces it. Only on a box whose layout turned snapshots on.
 */
export function targetSnapshotEntries(ictx: InstallContext): Entry[] {
  const settings = ictx.facts.layout.snapshots;
  if (!settings) return [];
  const { vg } = ictx.facts.layout;
  const { lv, slots } = ictx.facts;
  const replaced = settings.beforeInstall ? ` (but ${BEFORE_UPGRADE_NAME}, which this install replaces)` : "";
  return [
    check(`LV ${vg}/${lv} of slot ${slots.target} has no snapshot${replaced}`, async (ctx) => {
      const lvs = await listLogicalVolumes(ctx.run, vg);
      const kept = lvs.filter((s) => s.origin === lv && !(settings.beforeInstall && snapshotNameOf(s.tags) === BEFORE_UPGRADE_NAME && !s.merging));
      if (kept.length === 0) return;
      const names = kept.map((s) => `${snapshotNameOf(s.tags) ?? s.name}${s.merging ? " (being merged)" : ""}`);
      throw new InstallError(
        `slot ${slots.target} (LV ${vg}/${lv}) has snapshots: ${names.join(", ")}; the install rewrites the whole LV, which would overflow them`,
        `Merge or delete them first (\`va-agent snapshot list\`, \`va-agent snapshot delete NAME\`), then install again; nothing was written.`,
        { refusal: "target-has-snapshots", lv, snapshots: names },
      );
    }, [lvsArgv(vg)]),
  ];
}

/**
 * `snapshots.beforeInstall`: the running slot's LV (which the install never writes) is snapshotted
 * as before-upgrade before the slot state is touched, replacing the previous one. Without room in
 * the VG the install goes on without it, with a warning.
 */
export function beforeUpgradeEntries(ictx: InstallContext): Entry[] {
  const settings = ictx.facts.layout.snapshots;
  if (!settings?.beforeInstall) return [];
  const { vg } = ictx.facts.layout;
  const origin = ictx.facts.bootedLv;
  const boot = ictx.setup.bootMount;
  const snapshotLv = snapshotLvName(origin, BEFORE_UPGRADE_NAME);
  const asks = [lvsArgv(vg), vgsArgv(vg)];
  let seen: Promise<{ old: LogicalVolume[]; cowBytes: number; freeBytes: number }> | undefined;
  const look = (ctx: StepContext) =>
    (seen ??= (async () => {
      const lvs = await listLogicalVolumes(ctx.run, vg);
      const space = await volumeGroupSpace(ctx.run, vg);
      const old = snapshotVolumes(lvs, BEFORE_UPGRADE_NAME);
      const originBytes = lvNamed(lvs, origin)?.sizeBytes ?? 0;
      return { old, cowBytes: extentsOf(originBytes, settings.cowPercent, space.extentBytes), freeBytes: space.freeBytes + old.reduce((sum, lv) => sum + lv.sizeBytes, 0) };
    })());
  let warned = false;
  const noRoom: Condition = {
    says: `volume group ${vg} has no room for it (the install goes on without it, with a warning)`,
    asks,
    holds: async (ctx) => {
      const { cowBytes, freeBytes } = await look(ctx);
      if (cowBytes <= freeBytes) return false;
      if (!warned) ctx.log.warn(`no ${BEFORE_UPGRADE_NAME} snapshot of ${vg}/${origin}: it needs ${gib(cowBytes)}, volume group ${vg} has ${gib(freeBytes)} free; the install goes on`);
      warned = true;
      return true;
    },
  };
  return [
    each(later(`<each LV of the previous ${BEFORE_UPGRADE_NAME} snapshot>`, async (ctx) => (await look(ctx)).old.map((lv) => lv.name), asks), (name) => [command(["lvm", "lvremove", "--yes", `${vg}/${name}`])]),
    write(snapshotRecordPath(boot, BEFORE_UPGRADE_NAME), `the previous ${BEFORE_UPGRADE_NAME} record removed`, () => removeSnapshotRecord(boot, BEFORE_UPGRADE_NAME)),
    command(
      ["lvm", "lvcreate", "--yes", "--snapshot", "--name", snapshotLv, "--size", later(`<${settings.cowPercent}% of ${vg}/${origin}, in bytes>`, async (ctx) => `${(await look(ctx)).cowBytes}b`, asks), "--addtag", SNAPSHOT_TAG, "--addtag", snapshotTag(BEFORE_UPGRADE_NAME), `${vg}/${origin}`],
      { skipIf: noRoom },
    ),
    write(
      snapshotRecordPath(boot, BEFORE_UPGRADE_NAME),
      `the record of ${BEFORE_UPGRADE_NAME}: slot ${ictx.facts.slots.booted}'s state now (\`va-agent snapshot merge ${BEFORE_UPGRADE_NAME}\` goes back to it)`,
      () => writeSnapshotRecord(boot, snapshotRecordOf(boot, ictx.facts.layout, BEFORE_UPGRADE_NAME, new Date().toISOString(), [{ lv: origin, snapshotLv }])),
      noRoom,
    ),
  ];
}
