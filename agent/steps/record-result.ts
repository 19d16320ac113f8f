import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomically } from "../disk/write-file-atomically.ts";
import { installedProductPath, installedProductRecord } from "../product/installed-product.ts";
import { AGENT_VERSION } from "../version.ts";
import { write } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

export const RESULT_FILE = "result.json";

/**
 * Leaves a record the new system (and the web UI) can read: what was migrated, from what, when, by
 * whom; and the installed product and release the next `stage` compares a bundle with.
 */
export const recordResult: Step = {
  name: "record-result",
  summary: "write the migration result, the journal and the log into the new root",
  destructive: true,
  requires: ["target"],
  entries: (ctx: PlanContext) => {
    const result = join(ctx.paths.targetRoot, ctx.paths.targetStateDir, RESULT_FILE);
    const installed = installedProductPath(ctx.paths.targetRoot);
    const log = join(ctx.paths.targetRoot, ctx.paths.targetLogDir, "migration.log");
    return [
      write(result, "what was migrated, from what, when, by which agent", (run) => {
        mkdirSync(dirname(result), { recursive: true });
        writeFileAtomically(result, `${JSON.stringify(resultRecord(run, new Date().toISOString()), null, 2)}\n`, { mode: 0o644 });
      }),
      write(installed, `product ${ctx.manifest.product.name} ${ctx.manifest.product.release}`, () => {
        mkdirSync(dirname(installed), { recursive: true });
        writeFileAtomically(installed, installedProductRecord(ctx.manifest.product, new Date().toISOString()), { mode: 0o644 });
      }),
      write(
        log,
        "copy of the agent's log",
        (run) => {
          mkdirSync(dirname(log), { recursive: true });
          copyFileSync(run.log.file!, log);
        },
        { says: "the agent logs to no file", holds: (run) => !run.log.file || !existsSync(run.log.file) },
      ),
    ];
  },
};

function resultRecord(ctx: StepContext, finishedAt: string) {
  return {
    outcome: "migrated",
    product: ctx.manifest.product,
    from: ctx.plan.oldSystem.root.osRelease.PRETTY_NAME ?? ctx.plan.oldSystem.root.osRelease.ID,
    to: ctx.distro?.prettyName,
    disk: ctx.plan.disk.path,
    agentVersion: AGENT_VERSION,
    finishedAt,
    journal: `${ctx.paths.targetStateDir}/journal.json`,
    log: `${ctx.paths.targetLogDir}/migration.log`,
  };
}
