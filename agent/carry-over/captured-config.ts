import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import type { ErrorObject, ValidateFunction } from "ajv";
import { writeFileAtomically } from "../disk/write-file-atomically.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import { ManifestError } from "../errors/errors.ts";
import { validate as validateCapturedConfig } from "./validate-captured-config.generated.ts";

export const CARRY_OVER_ARCHIVE_FILE = "carry-over-paths.tar";

/**
 * The document holds password hashes and the archive may hold keys: every copy of them (staging
 * directory, RAM, resume store) is 0600 from its creation. Other payload files are 0644.
 */
export function payloadFileMode(path: string): number {
  return [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE].includes(basename(path)) ? 0o600 : 0o644;
}

export interface CapturedAddress {
  address: string;
  prefix: number;
}
export interface CapturedRoute {
  to: string;
  via: string;
  metric?: number;
}
export interface CapturedInterface {
  mac: string;
  oldName: string;
  method: "static" | "dhcp";
  addresses: CapturedAddress[];
  gateway?: string;
  routes: CapturedRoute[];
  mtu?: number;
}
export interface DnsSettings {
  servers: string[];
  search: string[];
}
export interface CarryOverWarning {
  id: string;
  message: string;
}

/** The neutral document `stage` captures on the old system (network, DNS, hostname, accounts, paths). */
export interface CapturedConfig {
  format: 1;
  hostname?: string;
  interfaces: CapturedInterface[];
  dns: DnsSettings;
  accounts: { name: string; passwordHash: string }[];
  paths: { path: string; archive: typeof CARRY_OVER_ARCHIVE_FILE }[];
  warnings: CarryOverWarning[];
}

// Compiled ahead of time from capturedConfigSchema (build/validators.ts).
const validateSchema = validateCapturedConfig as unknown as ValidateFunction;

export function parseCapturedConfig(document: unknown, source = "captured-config.json", hint = "Stage again with this agent version: `va-agent stage` captures it anew."): CapturedConfig {
  if (!validateSchema(document)) {
    const problems = (validateSchema.errors ?? []).map(describeSchemaError);
    throw new ManifestError(`${source} is invalid:\n  ${problems.join("\n  ")}`, hint, { problems });
  }
  return document as unknown as CapturedConfig;
}

/** Read in the tiny system, past the point of no return: the old system cannot capture it anew. */
export function readCapturedConfig(path: string): CapturedConfig | undefined {
  if (!existsSync(path)) return undefined;
  const hint = `Fix or remove ${path} from this shell (without it the new system keeps its own network, hostname and passwords), then run \`va-agent migrate\`.`;
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ManifestError(`${path} is not JSON: ${(error as Error).message}`, hint);
  }
  return parseCapturedConfig(document, path, hint);
}

export function writeCapturedConfig(path: string, config: CapturedConfig): void {
  parseCapturedConfig(config, path);
  writeFileAtomically(path, `${JSON.stringify(config, null, 2)}\n`, { mode: payloadFileMode(path) });
}

function describeSchemaError(error: ErrorObject): string {
  const field = error.instancePath ? error.instancePath.slice(1).replaceAll("/", ".") : "(top level)";
  if (error.keyword === "required") {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return `${field === "(top level)" ? "" : `${field}.`}${missing}: missing, it is required`;
  }
  if (error.keyword === "additionalProperties") {
    return `${field}: unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  }
  return `${field}: ${error.message ?? error.keyword}`;
}
