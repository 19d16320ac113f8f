import { createReadStream } from "node:fs";
import { join } from "node:path";
import { PreflightError } from "../errors/errors.ts";
import { lintCompressedArchive } from "../payload/archive-lint.ts";
import { XZ_COMMAND } from "../payload/decompressor.ts";
import { checkPayloadFstab } from "../preflight/payload-fstab-check.ts";
import type { PlanContext, Step } from "./step.ts";

/**
 * The archive check `stage` could not make on an old system without xz (va.check-archive): the
 * same lint and payload-fstab rules, over the payload in RAM, with the tiny system's own xz, before
 * the point of no return. A refusal hands back to the old system like any early step failure.
 */
export const checkPayloadArchive: Step = {
  name: "check-payload-archive",
  summary: "check the payload archive's members (unsafe names, links, devices; a kernel; the fstab) when stage could not",
  destructive: false,
  commands: (ctx) => (isDeferred(ctx) ? [[...XZ_COMMAND, payloadFile(ctx)]] : []),
  async run(ctx) {
    if (!isDeferred(ctx)) {
      ctx.log.info("payload archive checked at stage");
      return;
    }
    const archive = ctx.manifest.payload.rootfs;
    // the file is fed to `xz -dc` on its stdin: the command the plan shows, in effect
    const lint = await lintCompressedArchive(ctx.run, createReadStream(payloadFile(ctx)), archive.compression, archive.file);
    ctx.log.info(`payload archive checked: ${lint.members} members, kernel ${lint.kernels.join(", ")}`);
    const fstab = checkPayloadFstab(lint.fstab, ctx.manifest);
    if (fstab.severity === "inhibitor") throw new PreflightError(`${fstab.title}: ${fstab.finding}`, fstab.remedy, { inhibitors: [fstab.id] });
    if (fstab.severity === "warning") ctx.log.warn(`${fstab.title}: ${fstab.finding}`);
  },
};

const isDeferred = (ctx: PlanContext): boolean => ctx.plan.archiveCheck === "deferred";
const payloadFile = (ctx: PlanContext): string => join(ctx.paths.payloadDir, ctx.manifest.payload.rootfs.file);
