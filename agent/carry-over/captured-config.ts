import { existsSync, readFileSync } from "node:fs";
import { ManifestError } from "../errors/errors.ts";

/** The neutral document `stage` captures on the old system (network, DNS, hostname, accounts, paths). */
export interface CapturedConfig {
  format: 1;
  hostname?: string;
  accounts?: { name: string; passwordHash: string }[];
}

export function readCapturedConfig(path: string): CapturedConfig | undefined {
  if (!existsSync(path)) return undefined;
  const document = JSON.parse(readFileSync(path, "utf8")) as CapturedConfig;
  if (document.format !== 1) {
    throw new ManifestError(`${path}: unknown captured configuration format ${String(document.format)}`, "Stage again with this agent version.");
  }
  return document;
}
