import { createReadStream } from "node:fs";
import { join } from "node:path";
import { PreflightError } from "../errors/errors.ts";
import { lintCompressedArchive } from "../payload/archive-lint.ts";
import { XZ_COMMAND } from "../payload/decompressor.ts";
import { checkPayloadFstab } from "../preflight/payload-fstab-check.ts";
import { readCapturedConfig } from "../carry-over/captured-config.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import { checkCarriedAccounts } from "../preflight/carry-over-checks.ts";
import { check } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/**
 * The archive check `stage` could not make on an old system without xz (va.check-archive): the
 * same lint and payload-fstab rules, over the payload in RAM, with the tiny system's own xz, before
 * the point of no return. A refusal hands back to the old system like any early step failure.
 */
export const checkPayloadArchive: Step = {
  name: "check-payload-archive",
  summary: "check the payload archive's members (unsafe names, links, devices; a kernel; the fstab; the listed accounts' uids and gids) when stage could not",
  destructive: false,
  applies: (ctx) => ctx.plan.archiveCheck === "deferred" || "the payload archive was checked at stage",
  entries: (ctx) => [
    check(`the members of ${payloadFile(ctx)}, fed to xz on its stdin: no unsafe names, links or devices; a kernel; an fstab the manifest's filesystems satisfy; the listed accounts' uids and gids free in the payload`, lintPayload, [XZ_COMMAND]),
  ],
};

async function lintPayload(ctx: StepContext): Promise<void> {
  const archive = ctx.manifest.payload.rootfs;
  const lint = await lintCompressedArchive(ctx.run, createReadStream(payloadFile(ctx)), archive.compression, archive.file);
  ctx.log.info(`payload archive checked: ${lint.members} members, kernel ${lint.kernels.join(", ")}`);
  const fstab = checkPayloadFstab(lint.fstab, ctx.manifest);
  if (fstab.severity === "inhibitor") throw new PreflightError(`${fstab.title}: ${fstab.finding}`, fstab.remedy, { inhibitors: [fstab.id] });
  if (fstab.severity === "warning") ctx.log.warn(`${fstab.title}: ${fstab.finding}`);
  checkAccountsAgainst(ctx, lint);
}

/** The account check stage deferred with the archive: an id clash refuses here, before the point of no return, as stage would have. */
function checkAccountsAgainst(ctx: StepContext, payload: { passwd?: string; group?: string }): void {
  const config = readCapturedConfig(join(ctx.paths.payloadDir, CAPTURED_CONFIG_FILE));
  if (!config) return;
  const wanted = new Set(ctx.manifest.carryOver.accounts);
  const { check } = checkCarriedAccounts({ ...config, accounts: config.accounts.filter((a) => wanted.has(a.name)) }, payload);
  if (check.severity === "inhibitor") throw new PreflightError(`${check.title}: ${check.finding}`, check.remedy, { inhibitors: [check.id] });
  if (check.severity === "warning") ctx.log.warn(`${check.title}: ${check.finding}`);
  else ctx.log.info(`${check.title}: ${check.finding}`);
}

const payloadFile = (ctx: PlanContext): string => join(ctx.paths.payloadDir, ctx.manifest.payload.rootfs.file);
