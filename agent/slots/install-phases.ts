import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { CARRY_OVER_ARCHIVE_FILE } from "../carry-over/captured-config.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import { check, write, type Entry } from "../steps/entry.ts";
import { agentFileEntries } from "./install-agent-files.ts";
import { bootFileEntries } from "./install-boot-files.ts";
import { verifySlotImage } from "./install-bundle.ts";
import { captureEntries, renderEntries } from "./install-carry-over.ts";
import { bundleOptionsOf, type InstallContext } from "./install-context.ts";
import { extractEntries } from "./install-extract.ts";
import { filesystemEntries, unmountEntries } from "./install-filesystem.ts";
import { fitEntries } from "./install-fit.ts";
import { beginInstallEntry, finishInstallEntry } from "./install-state.ts";
import { unitEntries } from "./install-units.ts";
import { beforeUpgradeEntries, targetSnapshotEntries } from "./install-snapshots.ts";

/**
 * What a phase may write: the plan says it per phase, so "nothing of the running slot or /data" can
 * be read off it. "booted-snapshot": a snapshot LV of the running slot (its origin is not written).
 */
export type Touches = "nothing" | "ram" | "shared-boot" | "slot" | "booted-snapshot";

export interface InstallPhase {
  name: string;
  summary: string;
  touches: readonly Touches[];
  entries(ictx: InstallContext): Entry[];
}

/**
 * `va-agent install`, in order (the fit first: lvs is quick, reading the whole bundle is not).
 * Everything before begin-install only reads (and writes RAM): a
 * refusal there leaves the system as it was. From begin-install on the slot being written is
 * marked bad, so a power cut or a failure boots the running slot as before; finish-install, after
 * the slot is unmounted and synced, is the one write that makes the new slot the next one tried.
 */
export const INSTALL_PHASES: readonly InstallPhase[] = [
  { name: "check-slot", summary: "the inactive slot is not in use, has no snapshot and the image fits its LV", touches: ["nothing"], entries: (ictx) => [...fitEntries(ictx), ...targetSnapshotEntries(ictx)] },
  {
    name: "verify-bundle",
    summary: "every member of the bundle against its signed manifest",
    touches: ["nothing"],
    entries: (ictx) => [check(`every member of ${ictx.setup.bundle} matches the signed manifest (SHA-256 and size, the bundle read once)`, (ctx) => verifySlotImage(ictx.setup.bundle, ictx.facts.head, { ...bundleOptionsOf(ictx.setup), progress: (label) => ctx.log.progress(label) }))],
  },
  { name: "capture-config", summary: "the running system's network, DNS, hostname, listed accounts and paths, captured into RAM", touches: ["ram"], entries: captureEntries },
  {
    name: "begin-install",
    summary: "the running slot's before-upgrade snapshot when the layout asks for it, then mark the slot being written bad",
    touches: ["booted-snapshot", "shared-boot"],
    entries: (ictx) => [...beforeUpgradeEntries(ictx), beginInstallEntry(ictx.state, ictx.facts.slots.target)],
  },
  { name: "make-filesystem", summary: "a new filesystem on the slot's LV, mounted", touches: ["slot"], entries: filesystemEntries },
  { name: "extract-rootfs", summary: "the image's root filesystem streamed from the bundle into the slot", touches: ["slot"], entries: extractEntries },
  { name: "write-boot-files", summary: "the slot's fstab, its kernel arguments, its kernel links", touches: ["slot"], entries: bootFileEntries },
  { name: "copy-agent-files", summary: "the agent, its trusted keys, the new release's record and the slot layout", touches: ["slot"], entries: agentFileEntries },
  { name: "install-units", summary: "the commit and health units, enabled in the slot", touches: ["slot"], entries: unitEntries },
  { name: "carry-over-config", summary: "the captured configuration rendered into the slot in its distribution's own style", touches: ["slot"], entries: renderEntries },
  { name: "close-slot", summary: "the install's log into the slot, unmount, sync; the captured files leave RAM", touches: ["slot", "ram"], entries: (ictx) => [logCopyEntry(ictx), ...unmountEntries(ictx), forgetCapturedEntry(ictx)] },
  { name: "finish-install", summary: "make the new slot the next one booted, its tries reset", touches: ["shared-boot"], entries: (ictx) => [finishInstallEntry(ictx.state, ictx.facts.slots.target, ictx.facts.release.to)] },
];

/** The phase after which a failure leaves the slot marked bad (and before which nothing but RAM was written). */
export const FIRST_WRITING_PHASE = "begin-install";

export const INSTALL_LOG = "var/log/va-agent/install.log";

function logCopyEntry(ictx: InstallContext): Entry {
  const destination = join(ictx.setup.slotTarget, INSTALL_LOG);
  return write(
    destination,
    "copy of this install's log",
    (ctx) => {
      mkdirSync(dirname(destination), { recursive: true });
      copyFileSync(ctx.log.file!, destination);
    },
    { says: "the agent logs to no file", holds: (ctx) => !ctx.log.file || !existsSync(ctx.log.file) },
  );
}

/** The captured document holds password hashes, the archive may hold keys: they leave RAM with the install, also when it fails. */
export function forgetCaptured(ictx: InstallContext): void {
  for (const file of [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE]) rmSync(join(ictx.setup.workDir, file), { force: true });
}

function forgetCapturedEntry(ictx: InstallContext): Entry {
  return write(join(ictx.setup.workDir, `{${CAPTURED_CONFIG_FILE},${CARRY_OVER_ARCHIVE_FILE}}`), "removed (password hashes and carried files leave RAM)", () => forgetCaptured(ictx));
}
