import { createReadStream } from "node:fs";
import { join } from "node:path";
import { PreflightError } from "../errors/errors.ts";
import { lintCompressedArchive, XZ_COMMAND } from "../payload/archive-lint.ts";
import { checkPayloadFstab } from "../preflight/payload-fstab-check.ts";
import { check } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/**
 * The archive check `stage` could not make on an old system without xz (va.check-archive): the
 * same lint and payload-fstab rules, over the payload in RAM, with the tiny system's own xz, before
 * the point of no return. A refusal hands back to the old system like any early step failure.
 */
export const checkPayloadArchive: Step = {
  name: "check-payload-archive",
  summary: "check the payload archive's members (unsafe names, links, devices; a kernel; the fstab) when stage could not",
  destructive: false,
  applies: (ctx) => ctx.plan.archiveCheck === "deferred" || "the payload archive was checked at stage",
  entries: (ctx) => [
    check(`the members of ${payloadFile(ctx)}, fed to xz on its stdin: no unsafe names, links or devices; a kernel; an fstab the manifest's filesystems satisfy`, lintPayload, [XZ_COMMAND]),
  ],
};

async function lintPayload(ctx: StepContext): Promise<void> {
  const archive = ctx.manifest.payload.rootfs;
  const lint = await lintCompressedArchive(ctx.run, createReadStream(payloadFile(ctx)), archive.compression, archive.file);
  ctx.log.info(`payload archive checked: ${lint.members} members, kernel ${lint.kernels.join(", ")}`);
  const fstab = checkPayloadFstab(lint.fstab, ctx.manifest);
  if (fstab.severity === "inhibitor") throw new PreflightError(`${fstab.title}: ${fstab.finding}`, fstab.remedy, { inhibitors: [fstab.id] });
  if (fstab.severity === "warning") ctx.log.warn(`${fstab.title}: ${fstab.finding}`);
}

const payloadFile = (ctx: PlanContext): string => join(ctx.paths.payloadDir, ctx.manifest.payload.rootfs.file);
