import { SnapshotError } from "../errors/errors.ts";

/**
 * How a snapshot is named in LVM: a snapshot NAME is a set of classic COW snapshots, one per
 * origin LV, each `<origin>.snap.<NAME>` and tagged `va.snapshot` and `va.snapshot.<NAME>`
 * (docs/RESCUE.md "Snapshots"). The tags find the set whatever its LVs are called.
 */
export const SNAPSHOT_TAG = "va.snapshot";
/** 32 characters at most, of the ones both LV names and LVM tags allow. */
export const SNAPSHOT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,31}$/;
/** The factory point is an image LV, not a snapshot; the temporary snapshot it is copied from is the agent's own. */
export const FACTORY_NAME = "factory";
export const FACTORY_SOURCE_NAME = "va-factory-src";
export const RESERVED_NAMES: readonly string[] = [FACTORY_NAME, FACTORY_SOURCE_NAME];
/** What `va-agent install` takes of the running slot when the layout says `snapshots.beforeInstall`. */
export const BEFORE_UPGRADE_NAME = "before-upgrade";
/** The LV the migration creates before the "rest" LV and removes after it: the snapshot reserve stays free in the VG. */
export const RESERVE_PLACEHOLDER_LV = "va-snapshot-reserve";

export function snapshotLvName(origin: string, name: string): string {
  return `${origin}.snap.${name}`;
}

export function snapshotTag(name: string): string {
  return `${SNAPSHOT_TAG}.${name}`;
}

/** The snapshot NAME a tag list carries (`va.snapshot.NAME`), or null for an LV that is none of ours. */
export function snapshotNameOf(tags: readonly string[]): string | null {
  if (!tags.includes(SNAPSHOT_TAG)) return null;
  const tag = tags.find((t) => t.startsWith(`${SNAPSHOT_TAG}.`));
  return tag ? tag.slice(SNAPSHOT_TAG.length + 1) : null;
}

/** A NAME the operator may give: the rule, and not one the agent keeps for itself. */
export function requireSnapshotName(name: string): string {
  if (!SNAPSHOT_NAME_PATTERN.test(name)) {
    throw new SnapshotError(
      `"${name}" is not a snapshot name: 1 to 32 characters, letters, digits and _ . + -, starting with a letter or digit`,
      "Choose a name such as before-update or 2026-12-01; nothing was changed.",
      { refusal: "invalid-name", name },
    );
  }
  if (RESERVED_NAMES.includes(name)) {
    throw new SnapshotError(
      `"${name}" is reserved: ${name === FACTORY_NAME ? "the factory point is an image LV of its own (`va-agent rescue factory-reset` uses it)" : "the factory point's temporary snapshot has this name"}`,
      "Choose another name; nothing was changed.",
      { refusal: "reserved-name", name },
    );
  }
  return name;
}
