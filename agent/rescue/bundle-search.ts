import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ensureMounted, mountedTargets } from "../disk/mounts.ts";
import { RescueError } from "../errors/errors.ts";
import type { BlockDevice } from "../machine/machine.ts";
import type { Runner } from "../runner/runner.ts";

/** Where the rescue system mounts a medium it searches (RAM). */
export const MEDIA_DIR = "/run/va-agent/media";

/** `rescue install BUNDLE | --label LABEL [--path P]`: a path here, or a filesystem to search. */
export interface BundleQuery {
  bundle?: string;
  label?: string;
  /** Relative to the medium's root; without it the only *.tar at the root. */
  path?: string;
}

export interface Medium {
  device: string;
  fstype: string;
  mountpoint: string;
  /** Mounted by this search (and so unmounted after it); false: it was mounted already. */
  mountedHere: boolean;
}

export interface FoundBundle {
  bundle: string;
  /** The medium it is on, mounted until the install is done; null for a path given. */
  medium: Medium | null;
}

/**
 * The filesystems to search: the one labelled LABEL, else the VG's data LVs (every LV of the VG with
 * a filesystem that is not a slot, the factory image or a snapshot: `dataDevices`).
 */
export function mediaToSearch(devices: readonly BlockDevice[], query: BundleQuery, dataDevices: readonly string[]): BlockDevice[] {
  if (query.label !== undefined) {
    const labelled = devices.filter((d) => d.label === query.label && d.fstype);
    const unique = [...new Map(labelled.map((d) => [d.path, d])).values()];
    if (unique.length === 1) return unique;
    const labels = [...new Set(devices.map((d) => d.label).filter(Boolean))].sort();
    throw new RescueError(
      unique.length === 0 ? `no filesystem is labelled ${query.label} (labels seen: ${labels.join(", ") || "none"})` : `several filesystems are labelled ${query.label}: ${unique.map((d) => d.path).join(", ")}`,
      unique.length === 0 ? "Nothing was changed. Plug the medium in (`lsblk -o PATH,LABEL,FSTYPE` lists what is there), or give the bundle's path." : "Nothing was changed. Keep one of them plugged in, or mount the one you mean and give the bundle's path.",
      { refusal: "medium-not-found", label: query.label, labels },
    );
  }
  const wanted = new Set(dataDevices);
  return [...new Map(devices.filter((d) => wanted.has(d.path) && d.fstype && d.fstype !== "swap").map((d) => [d.path, d])).values()];
}

/** Read-only and never replaying a journal: the search writes nothing to the data LV or the stick. */
export function mountArgv(device: string, fstype: string, mountpoint: string): string[] {
  const options = fstype === "ext4" ? "ro,noload" : fstype === "xfs" ? "ro,norecovery" : "ro";
  return ["mount", "-o", options, "-t", fstype, device, mountpoint];
}

export function unmountArgv(medium: Medium): string[] {
  return ["umount", medium.mountpoint];
}

/** The slot images a medium offers: the path asked for, or each *.tar at its root. */
export function bundlesOn(mountpoint: string, path: string | undefined): string[] {
  if (path !== undefined) return existsSync(join(mountpoint, path)) ? [join(mountpoint, path)] : [];
  try {
    return readdirSync(mountpoint).filter((name) => name.endsWith(".tar")).sort().map((name) => join(mountpoint, name));
  } catch {
    return [];
  }
}

export async function findBundle(run: Runner, query: BundleQuery, devices: readonly BlockDevice[], dataDevices: readonly string[], mediaDir = MEDIA_DIR): Promise<FoundBundle> {
  if (query.bundle !== undefined) {
    if (existsSync(query.bundle)) return { bundle: query.bundle, medium: null };
    throw new RescueError(`${query.bundle} does not exist`, "Nothing was changed. A bundle on a USB stick: `--label LABEL [--path P]`; on the data LV: `--path P` (relative to its root).", { refusal: "bundle-not-found", bundle: query.bundle });
  }
  const media = mediaToSearch(devices, query, dataDevices);
  const searched: { medium: Medium; bundles: string[] }[] = [];
  for (const device of media) {
    const medium = await mountMedium(run, device, mediaDir);
    searched.push({ medium, bundles: bundlesOn(medium.mountpoint, query.path) });
  }
  const found = searched.flatMap((s) => s.bundles.map((bundle) => ({ bundle, medium: s.medium })));
  for (const s of searched) if (found.length !== 1 || s.medium !== found[0]!.medium) await unmountMedium(run, s.medium);
  if (found.length === 1) return found[0]!;
  const where = searched.map((s) => `${s.medium.device} (at ${s.medium.mountpoint})`).join(", ") || "no filesystem (no data LV with a filesystem is active)";
  const wanted = query.path === undefined ? "a *.tar at its root" : query.path;
  if (found.length === 0) {
    throw new RescueError(`no slot image found: searched ${where} for ${wanted}`, "Nothing was changed. Give the bundle's path, or the medium's label (--label LABEL) and the path on it (--path P).", { refusal: "bundle-not-found", searched: searched.map((s) => s.medium.device) });
  }
  throw new RescueError(
    `several slot images found: ${found.map((f) => f.bundle).join(", ")}`,
    `Nothing was changed. Say which with --path (relative to the medium's root${searched.length > 1 ? ", with --label LABEL for the medium" : ""}), e.g. --path ${found[0]!.bundle.slice(found[0]!.medium.mountpoint.length + 1)}.`,
    { refusal: "several-bundles", bundles: found.map((f) => f.bundle) },
  );
}

async function mountMedium(run: Runner, device: BlockDevice, mediaDir: string): Promise<Medium> {
  if (device.mountpoint) return { device: device.path, fstype: device.fstype!, mountpoint: device.mountpoint, mountedHere: false };
  const mountpoint = join(mediaDir, (device.label ?? device.path.split("/").at(-1)!).replace(/[^A-Za-z0-9._-]/g, "_"));
  const mountedHere = !mountedTargets().has(mountpoint);
  // A read-only mount changes nothing on a disk: it runs in --dry-run too, which reads the bundle's manifest.
  await ensureMounted(run, mountArgv(device.path, device.fstype!, mountpoint), { readOnly: true });
  return { device: device.path, fstype: device.fstype!, mountpoint, mountedHere };
}

export async function unmountMedium(run: Runner, medium: Medium): Promise<void> {
  if (medium.mountedHere) await run.run(unmountArgv(medium), { readOnly: true });
}
