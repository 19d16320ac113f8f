import type { ValidateFunction } from "ajv";
import { refuseOtherKind } from "../bundle/manifest-kind.ts";
import { parseManifestJson } from "../bundle/signed-manifest.ts";
import { ManifestError } from "../errors/errors.ts";
import { deepFreeze, describeSchemaError, type Compression, type FileRef } from "../manifest/manifest.ts";
import { validate as validateSlotImage } from "./validate-slot-image.generated.ts";

/** A slot image's manifest (agent/slots/slot-image-schema.ts), validated and frozen. */
export interface SlotImageManifest {
  kind: "slot-image";
  version: 1;
  product: { name: string; release: string };
  payload: { rootfs: FileRef & { bytes: number; compression: Compression } };
  filesystem: "ext4" | "xfs";
  minSlotBytes?: number;
}

// Compiled ahead of time from slotImageSchema (build/validators.ts), like the migration manifest's.
const validateSchema = validateSlotImage as unknown as ValidateFunction;

export function parseSlotImageManifest(document: unknown, source = "slot image manifest"): Readonly<SlotImageManifest> {
  refuseOtherKind(source, document, "slot-image");
  const copy = structuredClone(document);
  if (!validateSchema(copy)) {
    const problems = (validateSchema.errors ?? []).map(describeSchemaError);
    throw new ManifestError(`${source} is invalid:\n  ${problems.join("\n  ")}`, FIX_HINT, { problems });
  }
  return deepFreeze(copy as unknown as SlotImageManifest);
}

/** The signed bytes of a bundle's manifest.json, as a slot image (a migration manifest is refused by name). */
export function parseSlotImageBytes(source: string, bytes: Buffer): Readonly<SlotImageManifest> {
  return parseSlotImageManifest(parseManifestJson(source, bytes), source);
}

const FIX_HINT = "Rebuild the slot image with `build.ts bundle --slot-image` (its manifest has \"kind\": \"slot-image\"); nothing on this machine was changed.";
