/** The published JSON Schema of manifest.json (version 1). `va-agent schema` prints it. */
const sha256 = { type: "string", pattern: "^[0-9a-f]{64}$" } as const;
const fileRef = {
  type: "object",
  required: ["file", "sha256"],
  additionalProperties: false,
  properties: {
    file: { type: "string", pattern: "^[^/]+$", description: "file name inside the bundle / staging directory" },
    bytes: { type: "integer", minimum: 1 },
    sha256,
  },
} as const;
/** A VG or LV name as the manifest allows it (and slot-layout.json is read by). */
export const LVM_NAME_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.+-]*$";
const lvName = LVM_NAME_PATTERN;
const size = {
  type: "string",
  pattern: "^(rest|[0-9]+%|[0-9]+(B|KiB|MiB|GiB|TiB))$",
  description: "absolute (e.g. 512MiB), percent of the volume group (e.g. 20%), or rest",
} as const;

/** The vendor's product and release: the same in a migration manifest and a slot image's. */
export const productSchema = {
  type: "object",
  required: ["name", "release"],
  additionalProperties: false,
  properties: { name: { type: "string", minLength: 1 }, release: { type: "string", minLength: 1 } },
} as const;

/** The root filesystem archive: in a migration bundle and in a slot image alike. */
export const rootfsSchema = {
  ...fileRef,
  required: ["file", "sha256", "bytes", "compression"],
  properties: { ...fileRef.properties, compression: { enum: ["xz", "zstd"] } },
} as const;

export const manifestSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://va-agent.invalid/manifest-1.json",
  title: "va-agent migration manifest",
  type: "object",
  required: ["version", "product", "target", "lvm", "filesystems", "payload", "bootloader", "selinux", "carryOver"],
  additionalProperties: false,
  properties: {
    version: { const: 1, description: "manifest format version; this agent understands 1" },
    product: productSchema,
    target: {
      type: "object",
      required: ["partitionTable", "lvmPartition", "firmware"],
      additionalProperties: false,
      properties: {
        partitionTable: { ...fileRef, description: "sgdisk --backup of the reference layout" },
        lvmPartition: { type: "integer", minimum: 1, maximum: 128, description: "partition number holding the LVM PV" },
        growLvmPartition: { type: "boolean", default: true },
        firmware: { enum: ["bios"] },
        minDiskBytes: { type: "integer", minimum: 1 },
      },
    },
    lvm: {
      type: "object",
      required: ["vg", "lvs"],
      additionalProperties: false,
      properties: {
        vg: { type: "string", pattern: lvName },
        lvs: {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            required: ["name", "size"],
            additionalProperties: false,
            properties: { name: { type: "string", pattern: lvName }, size },
          },
        },
      },
    },
    filesystems: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["on", "type"],
        additionalProperties: false,
        properties: {
          on: { type: "string", pattern: "^(partition:[0-9]+|lv:[A-Za-z0-9_][A-Za-z0-9_.+-]*)$" },
          type: { enum: ["ext4", "xfs"] },
          mountpoint: { type: "string", pattern: "^/" },
          label: { type: "string", maxLength: 12 },
          uuidFromFstab: { type: "boolean", description: "set this filesystem's UUID to what the new fstab expects" },
        },
      },
    },
    payload: {
      type: "object",
      required: ["rootfs"],
      additionalProperties: false,
      properties: {
        rootfs: rootfsSchema,
        stagingDir: { type: "string", pattern: "^/", default: "/etc/upd" },
      },
    },
    tinySystem: {
      type: "object",
      required: ["kernel", "initramfs"],
      additionalProperties: false,
      properties: { kernel: fileRef, initramfs: fileRef, agent: { ...fileRef, description: "the va-agent executable the tiny system runs" } },
    },
    bootloader: {
      type: "object",
      required: ["kind"],
      additionalProperties: false,
      properties: { kind: { enum: ["grub-bios"] }, rebuildInitramfs: { type: "boolean", default: true } },
    },
    selinux: {
      type: "object",
      required: ["mode"],
      additionalProperties: false,
      properties: {
        mode: { enum: ["none", "enforcing", "permissive"], description: "none: the new OS has no SELinux" },
        relabel: { type: "boolean", default: true },
      },
    },
    slots: {
      type: "object",
      required: ["a", "b"],
      additionalProperties: false,
      description: "A/B system slots (docs/SLOTS.md): the migrated system goes to slot A, slot B stays empty for the first slot install",
      properties: {
        a: { type: "string", pattern: lvName, description: "the LV of slot A (the migrated system)" },
        b: { type: "string", pattern: lvName, description: "the LV of slot B (holds the resume store during the migration)" },
        tries: { type: "integer", minimum: 1, maximum: 9, default: 3, description: "boots GRUB tries a slot before it falls back" },
        menuTimeoutSeconds: { type: "integer", minimum: 0, maximum: 60, default: 1 },
      },
    },
    snapshots: {
      type: "object",
      required: ["reserve"],
      additionalProperties: false,
      description: "LVM snapshots of the slots and a factory point (docs/RESCUE.md); needs slots",
      properties: {
        reserve: {
          type: "string",
          pattern: "^([0-9]+%|[0-9]+(B|KiB|MiB|GiB|TiB))$",
          description: "VG space the migration leaves free for snapshots: absolute (e.g. 4GiB) or percent of the volume group (e.g. 15%)",
        },
        cowPercent: { type: "integer", minimum: 1, maximum: 100, default: 20, description: "a snapshot's COW size, and each extension of it, in percent of its origin" },
        extendAtPercent: { type: "integer", minimum: 50, maximum: 95, default: 70, description: "`snapshot watch` extends a snapshot fuller than this" },
        factoryLv: { type: "string", pattern: lvName, description: "the LV (in lvm.lvs, no filesystem entry) that keeps slot A's image of the first healthy boot" },
        beforeInstall: { type: "boolean", default: false, description: "`va-agent install` takes the snapshot before-upgrade of the running slot first" },
      },
    },
    carryOver: {
      type: "object",
      required: ["accounts", "paths"],
      additionalProperties: false,
      properties: {
        accounts: { type: "array", items: { type: "string", pattern: "^[a-z_][a-z0-9_-]*$" } },
        paths: { type: "array", items: { type: "string", pattern: "^/" } },
        network: { type: "boolean", default: true },
      },
    },
  },
} as const;
