import type { Manifest } from "../manifest/manifest.ts";
import { parseSlotImageBytes, type SlotImageManifest } from "../slots/slot-image-manifest.ts";
import { manifestKindOf } from "./manifest-kind.ts";
import { parseManifestBytes, parseManifestJson } from "./signed-manifest.ts";

export type AnyManifest = Manifest | SlotImageManifest;

/** For readers that take either kind (`verify`): the manifest as its own kind's schema reads it. */
export function parseAnyManifestBytes(source: string, bytes: Buffer): Readonly<AnyManifest> {
  return manifestKindOf(parseManifestJson(source, bytes)) === "slot-image" ? parseSlotImageBytes(source, bytes) : parseManifestBytes(source, bytes);
}
