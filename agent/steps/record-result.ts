import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { writeFileAtomically } from "../disk/write-file-atomically.ts";
import { dirname, join } from "node:path";
import type { Step, StepContext } from "./step.ts";
import { AGENT_VERSION } from "../version.ts";
import { installedProductPath, installedProductRecord } from "../product/installed-product.ts";

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
  commands: () => [],
  async run(ctx) {
    const stateDir = join(ctx.paths.targetRoot, ctx.paths.targetStateDir);
    const logDir = join(ctx.paths.targetRoot, ctx.paths.targetLogDir);
    mkdirSync(stateDir, { recursive: true });
    mkdirSync(logDir, { recursive: true });
    const finishedAt = new Date().toISOString();
    writeFileAtomically(join(stateDir, RESULT_FILE), `${JSON.stringify(resultRecord(ctx, finishedAt), null, 2)}\n`, { mode: 0o644 });
    const installed = installedProductPath(ctx.paths.targetRoot);
    mkdirSync(dirname(installed), { recursive: true });
    writeFileAtomically(installed, installedProductRecord(ctx.manifest.product, finishedAt), { mode: 0o644 });
    if (ctx.log.file && existsSync(ctx.log.file)) copyFileSync(ctx.log.file, join(logDir, "migration.log"));
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
