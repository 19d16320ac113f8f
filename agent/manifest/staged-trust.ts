import { DEFAULT_KEYRING_DIR } from "../bundle/keyring.ts";

/**
 * What the tiny system needs to judge the staged manifest as `stage` did: its own keyring (shipped
 * in the initramfs at the default path), and the two decisions the operator made at `stage`,
 * carried on the one-time entry's kernel command line like va.staging=: an unverified signature
 * accepted with --insecure, a downgrade allowed with --allow-downgrade.
 */
export interface StagedTrust {
  keyring: string;
  insecure: boolean;
  allowDowngrade: boolean;
}

export const INSECURE_ARG = "va.insecure";
export const ALLOW_DOWNGRADE_ARG = "va.allow-downgrade";

/** Arguments for the migration entry; only what the operator chose and stage needed. */
export function stagedTrustArgs(decisions: { insecure: boolean; allowDowngrade: boolean }): string[] {
  return [...(decisions.insecure ? [INSECURE_ARG] : []), ...(decisions.allowDowngrade ? [ALLOW_DOWNGRADE_ARG] : [])];
}

/** Flags given by hand (from the tiny system's shell) add to what the entry says. */
export function stagedTrustOf(cmdline: string, flags: { keyring?: string; insecure?: boolean; allowDowngrade?: boolean } = {}): StagedTrust {
  const args = cmdline.split(/\s+/);
  return {
    keyring: flags.keyring ?? DEFAULT_KEYRING_DIR,
    insecure: (flags.insecure ?? false) || args.includes(INSECURE_ARG),
    allowDowngrade: (flags.allowDowngrade ?? false) || args.includes(ALLOW_DOWNGRADE_ARG),
  };
}
