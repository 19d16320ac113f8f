import type { CapturedConfig, CarryOverWarning } from "./captured-config.ts";
import { notCarried } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";

/** The password hash field of each listed account, from ROOT/etc/shadow. */
export function captureAccounts(root: string, names: readonly string[]): { accounts: CapturedConfig["accounts"]; warnings: CarryOverWarning[] } {
  const hashes = new Map<string, string>();
  for (const line of (readRootFile(root, "/etc/shadow") ?? "").split("\n")) {
    const [name, hash] = line.split(":");
    if (name && hash !== undefined && !hashes.has(name)) hashes.set(name, hash);
  }
  return {
    accounts: names.filter((name) => hashes.has(name)).map((name) => ({ name, passwordHash: hashes.get(name)! })),
    warnings: names.filter((name) => !hashes.has(name)).map((name) => notCarried("account-missing", `account ${name} is not in /etc/shadow`)),
  };
}
