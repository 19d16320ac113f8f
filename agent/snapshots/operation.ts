import type { Log } from "../log/logger.ts";
import type { Runner } from "../runner/runner.ts";
import type { Entry } from "../steps/entry.ts";
import { outline, outlineLines } from "../steps/outline.ts";
import { perform, type Performed } from "../steps/perform.ts";
import type { StepContext } from "../steps/step.ts";
import { withMergeProgress } from "./merge-progress.ts";

/**
 * One snapshot command after its facts were read and judged: what the plan says (`--dry-run`
 * prints it) and the entries the run performs, exactly those (agent/steps/perform.ts).
 */
export interface SnapshotOperation {
  command: string;
  /** The facts the decision was made on, for the plan's head. */
  facts: string[];
  entries: Entry[];
  /** What the console says when the run is done. */
  done: string;
}

export function operationPlanLines(op: SnapshotOperation): string[] {
  return [`va-agent snapshot ${op.command}`, ...op.facts.map((line) => `  ${line}`), "", ...(op.entries.length > 0 ? outlineLines(outline(op.entries), "  ") : ["  nothing to do"])];
}

/**
 * The entries read no manifest, migration plan or paths: the step context has only the runner and
 * the log (anything else read is an error, loudly). A merge's long LVM commands report their
 * progress from lvs meanwhile (merge-progress.ts).
 */
export async function performOperation(run: Runner, log: Log, vg: string, op: SnapshotOperation): Promise<Performed[]> {
  const ctx: StepContext = { manifest: unread("manifest"), plan: unread("migration plan"), paths: unread("paths"), run: withMergeProgress(run, log, vg), log };
  return perform(ctx, op.entries);
}

function unread<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_target, key) {
      if (typeof key === "symbol") return undefined;
      throw new Error(`a snapshot command has no ${what}: ${String(key)} was read`);
    },
  });
}
