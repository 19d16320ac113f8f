import type { SignatureCheck } from "../bundle/report.ts";
import { mountedTargets } from "../disk/mounts.ts";
import { StepFailedError } from "../errors/errors.ts";
import type { Log } from "../log/logger.ts";
import type { Product } from "../product/installed-product.ts";
import type { Runner } from "../runner/runner.ts";
import { perform, type Performed } from "../steps/perform.ts";
import type { StepContext } from "../steps/step.ts";
import { slotStepContext } from "./install-carry-over.ts";
import type { InstallContext } from "./install-context.ts";
import { FIRST_WRITING_PHASE, forgetCaptured, INSTALL_PHASES } from "./install-phases.ts";
import type { SlotName } from "./slot-env.ts";

export interface InstallResult {
  slot: SlotName;
  from: SlotName;
  vg: string;
  lv: string;
  device: string;
  product: Product;
  previous: Product;
  downgrade: boolean;
  signature: SignatureCheck;
  warnings: string[];
  phases: { name: string; seconds: number }[];
  /** What the interpreter did, phase by phase (tests hold it against the plan). */
  performed: { phase: string; entries: Performed[] }[];
}

/**
 * Runs the phases in order through the one interpreter (agent/steps/perform.ts), each announced on
 * the console. A failure from begin-install on leaves the slot marked bad: the slot's mounts are
 * undone as far as they go, and the error says where the system stands.
 */
export async function runInstall(ictx: InstallContext, run: Runner, log: Log): Promise<InstallResult> {
  const ctx: StepContext = { ...slotStepContext(ictx), run, log };
  const { slots, layout, lv } = ictx.facts;
  const phases: InstallResult["phases"] = [];
  const performed: InstallResult["performed"] = [];
  const writingFrom = INSTALL_PHASES.findIndex((p) => p.name === FIRST_WRITING_PHASE);
  for (const [index, phase] of INSTALL_PHASES.entries()) {
    log.info(`[${index + 1}/${INSTALL_PHASES.length}] ${phase.name}: ${phase.summary}`, { phase: phase.name });
    const startedAt = performance.now();
    try {
      performed.push({ phase: phase.name, entries: await perform(ctx, phase.entries(ictx)) });
    } catch (error) {
      forgetCaptured(ictx);
      if (index < writingFrom) throw error;
      await unmountAfterFailure(ictx, run, log);
      const kept = `${ictx.setup.sourceSlot ? "the source slot" : "the running slot"} ${slots.booted} is unchanged: fix the cause and install again.`;
      const where =
        index === writingFrom
          ? `Nothing was written to slot ${slots.target} (LV ${layout.vg}/${lv}); its state on the shared boot partition may be marked bad. ${kept.charAt(0).toUpperCase()}${kept.slice(1)}`
          : `Slot ${slots.target} (LV ${layout.vg}/${lv}) is marked bad and is not booted; ${kept}`;
      throw new StepFailedError(`install ${phase.name}`, error, where);
    }
    phases.push({ name: phase.name, seconds: Number(((performance.now() - startedAt) / 1000).toFixed(3)) });
  }
  log.info(`slot ${slots.target} holds ${ictx.facts.release.to.name} ${ictx.facts.release.to.release}: it boots next (reboot to try it; it is committed once its health checks pass)`);
  const { head, release } = ictx.facts;
  return { slot: slots.target, from: slots.booted, vg: layout.vg, lv, device: ictx.facts.device, product: release.to, previous: release.from, downgrade: release.downgrade, signature: head.signature, warnings: head.warnings, phases, performed };
}

async function unmountAfterFailure(ictx: InstallContext, run: Runner, log: Log): Promise<void> {
  const target = ictx.setup.slotTarget;
  if (!mountedTargets().has(target)) return;
  const result = await run.run(["umount", "--recursive", target], { allowFailure: true });
  if (result.status !== 0) log.warn(`${target} stays mounted (umount: ${result.stderr.trim() || `exit ${result.status}`}); the next install unmounts it first`);
}
