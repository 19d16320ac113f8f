import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { clearNextEntry, nextEntryIn } from "../bootloader/grubenv.ts";
import { MIGRATION_ENTRY_TITLE } from "../bootloader/one-time-boot.ts";
import { removeTinySystemFromBoot } from "../bootloader/tiny-boot-files.ts";
import { referencedFiles } from "../bundle/manifest-members.ts";
import { isPlainFileName, MANIFEST_MEMBER, SIGNATURE_MEMBER } from "../bundle/member-name.ts";
import { CARRY_OVER_ARCHIVE_FILE } from "../carry-over/captured-config.ts";
import { JournalError } from "../errors/errors.ts";
import { Journal } from "../journal/journal.ts";
import { CAPTURED_CONFIG_FILE, DEFAULT_STAGING_DIR, type Paths } from "../paths.ts";
import { firstDestructiveStep } from "../workflow/hand-back.ts";

export interface UndoOptions {
  /** "/" on the box, a temp tree in tests. */
  root: string;
  paths: Paths;
}

/**
 * `va-agent stage --undo` on the old system: everything `stage` added goes again (the tiny system
 * on /boot and its custom.cfg entry, the one-time next_entry when it is the migration's, the staged
 * payload, staged.json). Idempotent; refused once a migration journal shows the point of no return.
 */
export function undoStage(options: UndoOptions): { removed: string[] } {
  const { root, paths } = options;
  refuseAfterPointOfNoReturn(root, paths);
  const removed = removeTinySystemFromBoot(join(root, "boot")).map((what) => `/boot/${what}`);
  for (const grubenv of ["boot/grub2/grubenv", "boot/grub/grubenv"]) {
    if (nextEntryIn(join(root, grubenv)) !== MIGRATION_ENTRY_TITLE) continue;
    clearNextEntry(join(root, grubenv));
    removed.push(`next_entry in /${grubenv}`);
  }
  const stateDir = join(root, paths.targetStateDir);
  const stagingDir = stagedDirOf(stateDir);
  if (removeStagedPayload(join(root, stagingDir))) removed.push(stagingDir);
  if (existsSync(join(stateDir, "staged.json"))) {
    rmSync(join(stateDir, "staged.json"));
    removed.push(join(paths.targetStateDir, "staged.json"));
  }
  removeIfEmpty(stateDir);
  return { removed };
}

function refuseAfterPointOfNoReturn(root: string, paths: Paths): void {
  for (const file of [paths.journalFile, join(root, paths.targetStateDir, "journal.json")]) {
    if (!existsSync(file)) continue;
    const first = firstDestructiveStep(Journal.open(file));
    if (!first) continue;
    throw new JournalError(
      `the migration journal ${file} shows the migration went past the point of no return (step ${first} ran): there is no staged migration to undo`,
      "The old system is no longer on the disk and nothing was removed: `va-agent status` shows where the migration stands; `va-agent migrate` in the tiny system finishes it.",
      { journal: file, step: first },
    );
  }
}

function stagedDirOf(stateDir: string): string {
  try {
    return (JSON.parse(readFileSync(join(stateDir, "staged.json"), "utf8")) as { stagingDir?: string }).stagingDir ?? DEFAULT_STAGING_DIR;
  } catch {
    return DEFAULT_STAGING_DIR;
  }
}

/**
 * Only the files stage writes there (the members the staged manifest names, the manifest and its
 * signature, the captured config, leftovers of an interrupted extraction): the directory may hold
 * other files of the appliance's own, and then it stays.
 */
function removeStagedPayload(dir: string): boolean {
  if (!existsSync(dir)) return false;
  const manifest = join(dir, MANIFEST_MEMBER);
  const members = existsSync(manifest) ? referencedFiles(parsedOrNull(readFileSync(manifest, "utf8"))).map((ref) => ref.file) : [];
  const ours = [...members.filter(isPlainFileName), MANIFEST_MEMBER, SIGNATURE_MEMBER, CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE];
  const present = readdirSync(dir).filter((name) => ours.includes(name) || name.startsWith(".va-bundle-"));
  for (const name of present) rmSync(join(dir, name), { recursive: true, force: true });
  return removeIfEmpty(dir) || present.length > 0;
}

function parsedOrNull(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
}

function removeIfEmpty(dir: string): boolean {
  if (!existsSync(dir) || readdirSync(dir).length > 0) return false;
  rmdirSync(dir);
  return true;
}
