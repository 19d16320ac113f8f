/**
 * The published JSON Schema of a slot image's manifest.json (version 1): the second manifest kind of
 * the signed bundle format. A slot image is a whole root filesystem for one system slot, installed
 * by `va-agent install` on the running system; unlike a migration manifest it has no partition
 * table, no LVM layout and no tiny system (the disk is laid out already).
 */
import { productSchema, rootfsSchema } from "../manifest/schema.ts";

export const SLOT_IMAGE_KIND = "slot-image";

export const slotImageSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://va-agent.invalid/slot-image-1.json",
  title: "va-agent slot image manifest",
  type: "object",
  required: ["kind", "version", "product", "payload", "filesystem"],
  additionalProperties: false,
  properties: {
    kind: { const: SLOT_IMAGE_KIND, description: "what the bundle is: a root filesystem for the inactive system slot" },
    version: { const: 1, description: "slot image manifest format version; this agent understands 1" },
    product: productSchema,
    payload: {
      type: "object",
      required: ["rootfs"],
      additionalProperties: false,
      properties: {
        rootfs: rootfsSchema,
      },
    },
    filesystem: { enum: ["ext4", "xfs"], description: "the filesystem made on the slot's logical volume" },
    minSlotBytes: { type: "integer", minimum: 1, description: "the smallest slot (LV) the extracted root fits in, with room to run" },
  },
} as const;
