// The upgrade payload as the vendor would stage it on the old system (/etc/upd): manifest.json,
// the partition table and the rootfs archive, described by the manifest with sizes and SHA-256.

import { createHash, createPrivateKey } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NewOs } from "../assets/new-os.ts";
import { manifestDocument } from "../unit/fixtures/shapes.ts";
import { signManifest } from "../../agent/bundle/signature.ts";

export type PayloadCompression = "xz" | "zstd";

export interface StagedPayload {
  manifestPath: string;
  /** file name on the staging dir → host path */
  files: Record<string, string>;
}

export function writeTestPayload(newOs: NewOs, dir: string, compression: PayloadCompression, manifestOverrides: Record<string, unknown> = {}): StagedPayload {
  const rootfsFile = compression === "zstd" ? "va.tar.zst" : "va.tar.xz";
  const rootfsPath = compression === "zstd" ? newOs.payloadZst : newOs.payloadXz;
  const sha = compression === "zstd" ? newOs.payloadSha256.zst : newOs.payloadSha256.xz;
  // The reference layout (VG VA: root, back, data; /boot on partition 2) is the unit tests' manifest too.
  const manifest = {
    ...manifestDocument(),
    product: { name: "va-demo", release: "13.0" },
    target: {
      partitionTable: { file: "va.sgdisk", bytes: statSync(newOs.sgdisk).size, sha256: sha256Of(newOs.sgdisk) },
      lvmPartition: 3,
      firmware: "bios",
    },
    payload: { rootfs: { file: rootfsFile, bytes: statSync(rootfsPath).size, sha256: sha, compression } },
    ...manifestOverrides,
  };
  const manifestPath = join(dir, "manifest.json");
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifestPath, files: { "manifest.json": manifestPath, "va.sgdisk": newOs.sgdisk, [rootfsFile]: rootfsPath } };
}

/** Adds manifest.json.sig, as `stage` leaves it beside the manifest: the tiny system refuses an unsigned staged manifest. */
export function signStagedPayload(payload: StagedPayload, privateKey: string): StagedPayload {
  const signature = `${payload.manifestPath}.sig`;
  writeFileSync(signature, signManifest(readFileSync(payload.manifestPath), createPrivateKey(readFileSync(privateKey))));
  return { ...payload, files: { ...payload.files, "manifest.json.sig": signature } };
}

function sha256Of(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
