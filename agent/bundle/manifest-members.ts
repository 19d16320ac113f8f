/** Where the manifest refers to files that travel in the bundle; build.ts fills in their bytes and SHA-256. */
export const MEMBER_FIELDS = [
  ["target", "partitionTable"],
  ["payload", "rootfs"],
  ["tinySystem", "kernel"],
  ["tinySystem", "initramfs"],
  ["tinySystem", "agent"],
] as const;

export interface ManifestFileRef {
  /** e.g. "payload.rootfs" */
  role: string;
  file: string;
  bytes?: number;
  sha256: string;
}

/** The file references present in a manifest document (validated or not), in MEMBER_FIELDS order. */
export function referencedFiles(document: unknown): ManifestFileRef[] {
  return MEMBER_FIELDS.flatMap(([section, key]) => {
    const ref = fileRefAt(document, section, key);
    return ref ? [{ role: `${section}.${key}`, file: String(ref.file), bytes: ref.bytes as number | undefined, sha256: String(ref.sha256 ?? "") }] : [];
  });
}

export function fileRefAt(document: unknown, section: string, key: string): Record<string, unknown> | undefined {
  const parent = (document as Record<string, unknown> | undefined)?.[section];
  const ref = (parent as Record<string, unknown> | undefined)?.[key];
  return ref && typeof ref === "object" ? (ref as Record<string, unknown>) : undefined;
}
