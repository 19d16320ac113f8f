import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CapturedConfig, readCapturedConfig } from "../carry-over/captured-config.ts";
import { mergePasswordHashes } from "../carry-over/shadow.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import type { Step, StepContext } from "./step.ts";

/** Applies the configuration captured on the old system, when `stage` captured one. */
export const carryOverConfig: Step = {
  name: "carry-over-config",
  summary: "apply the captured hostname and account password hashes to the new root",
  destructive: true,
  requires: ["target"],
  commands: () => [],
  async run(ctx) {
    const config = readCapturedConfig(join(ctx.paths.payloadDir, CAPTURED_CONFIG_FILE));
    if (!config) {
      ctx.log.info("no captured configuration: the new system keeps its own defaults");
      return;
    }
    if (config.hostname) writeHostname(ctx, config.hostname);
    if (config.accounts?.length) mergeAccounts(ctx, config);
  },
};

function writeHostname(ctx: StepContext, hostname: string): void {
  writeFileSync(join(ctx.paths.targetRoot, "etc/hostname"), `${hostname}\n`);
  ctx.log.info(`hostname set to ${hostname}`);
}

function mergeAccounts(ctx: StepContext, config: CapturedConfig): void {
  const wanted = new Set(ctx.manifest.carryOver.accounts);
  const hashes = new Map((config.accounts ?? []).filter((a) => wanted.has(a.name)).map((a) => [a.name, a.passwordHash]));
  const shadowPath = join(ctx.paths.targetRoot, "etc/shadow");
  const merged = mergePasswordHashes(readFileSync(shadowPath, "utf8"), hashes);
  writeFileSync(shadowPath, merged.text, { mode: 0o600 });
  for (const name of merged.missing) ctx.log.warn(`account ${name} does not exist in the new system; its password was not carried over`);
}
