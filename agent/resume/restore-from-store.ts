import { join } from "node:path";
import { Journal } from "../journal/journal.ts";
import type { Log } from "../log/logger.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { MANIFEST_FILE, PLAN_FILE, type Paths } from "../paths.ts";
import { copyVerified } from "../payload/copy-verified.ts";
import type { MigrationPlan } from "../plan/plan.ts";
import { MIGRATION_STEPS } from "../steps/index.ts";
import { inputsDigest } from "./step-inputs.ts";
import { damagedStoreRemedy, type StoreMeta, storeDir, storeFileInRam } from "./store.ts";

/**
 * After resumeFromStore brought manifest, plan and journal back: copies to RAM, verified, only the
 * store files the remaining steps read (Step.reads). A damaged file no remaining step needs (the
 * rootfs archive once extract-rootfs is done) does not stop the resume; it is left in the store.
 */
export async function restorePayloadFromStore(log: Log, paths: Paths, stored: { manifest: Readonly<Manifest>; plan: MigrationPlan; meta: StoreMeta }): Promise<void> {
  const journal = Journal.open(paths.journalFile);
  const remaining = MIGRATION_STEPS.filter((step) => !journal.isDone(step.name, inputsDigest(stored, step)));
  for (const file of stored.meta.files) {
    if (file.file === MANIFEST_FILE || file.file === PLAN_FILE) continue;
    const readers = remaining.filter((step) => step.reads?.(stored.manifest).includes(file.file)).map((step) => step.name);
    if (readers.length === 0) {
      log.info(`${file.file}: no remaining step reads it; left in the store unread`);
      continue;
    }
    const why = `${readers.join(", ")} still ${readers.length === 1 ? "reads" : "read"} it`;
    const progress = file.bytes > 64 * 1024 ** 2 ? log.progress(`restoring ${file.file}`) : undefined;
    await copyVerified(join(storeDir(paths), file.file), storeFileInRam(paths, file.file), file, damagedStoreRemedy(stored.meta, paths, file.file, why), progress);
  }
  log.info(`payload verified and back in RAM: what ${remaining[0]?.name ?? "no step"} and the steps after it read`);
}
