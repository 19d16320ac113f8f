import { applySlotChange, beginInstall, finishInstall } from "../slots/slot-actions.ts";
import type { SlotName } from "../slots/slot-env.ts";
import { fileSlotStore } from "../slots/slot-store.ts";
import { exitCodeOf } from "../errors/errors.ts";
import { warnLoudly, type Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";
import type { InstallSetup } from "../slots/install-context.ts";
import { readInstallFacts } from "../slots/install-facts.ts";
import { installPlanLines } from "../slots/install-plan.ts";
import { runInstall } from "../slots/install-run.ts";
import type { SlotStateWriter } from "../slots/install-state.ts";
import { failureJson } from "./stage.ts";

export interface InstallCliOptions {
  json: boolean;
  /** Print the plan (the facts read, every phase and entry) and run nothing. */
  dryRun: boolean;
}

/** `va-agent install BUNDLE [--allow-downgrade] [--json] [--dry-run]`: on the running new system, a slot image into the inactive slot. */
export async function installCommand(options: InstallCliOptions, setup: InstallSetup, run: Runner, log: Log, state: SlotStateWriter): Promise<number> {
  try {
    const facts = await readInstallFacts(setup);
    for (const warning of facts.head.warnings) {
      warnLoudly(log, warning);
      if (!options.json) process.stdout.write(`WARNING: ${warning}\n`);
    }
    const ictx = { setup, facts, state };
    if (options.dryRun) {
      const plan = installPlanLines(ictx);
      if (options.json) process.stdout.write(`${JSON.stringify({ dryRun: true, slot: facts.slots.target, from: facts.slots.booted, product: facts.release.to, previous: facts.release.from, downgrade: facts.release.downgrade, warnings: facts.head.warnings, plan }, null, 2)}\n`);
      else process.stdout.write(`${plan.join("\n")}\n`);
      return 0;
    }
    const { performed: _, ...result } = await runInstall(ictx, run, log);
    if (options.json) process.stdout.write(`${JSON.stringify({ installed: true, ...result }, null, 2)}\n`);
    else process.stdout.write(`installed ${result.product.name} ${result.product.release} into slot ${result.slot} (LV ${result.vg}/${result.lv}); reboot to boot it: it is committed once its health checks pass, else slot ${result.from} boots again\n`);
    return 0;
  } catch (error) {
    if (!options.json) throw error;
    process.stdout.write(`${JSON.stringify({ installed: false, error: failureJson(error) }, null, 2)}\n`);
    return exitCodeOf(error);
  }
}

/** The slot state on the shared boot partition, changed by slot-actions.ts's two install transitions. */
export function slotStateOnBoot(bootMount: string, booted: SlotName | null): SlotStateWriter {
  const store = fileSlotStore(bootMount);
  const context = () => ({ booted, now: new Date().toISOString() });
  return {
    beginInstall: (slot) => applySlotChange(store, beginInstall(store.read(), context(), slot)),
    finishInstall: (slot, image) => applySlotChange(store, finishInstall(store.read(), context(), slot, image)),
  };
}
