/**
 * Typed errors. Each kind has its own exit code and always says what to do next,
 * so an operator at the dracut shell (or the web UI reading `status --json`) can act on it.
 */
import { formatArgv } from "../runner/argv-text.ts";

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  manifest: 3,
  probe: 4,
  preflight: 5,
  payload: 6,
  command: 7,
  toolMissing: 8,
  journal: 9,
  layout: 10,
  distro: 11,
  verification: 12,
  signature: 13,
  bundle: 14,
  archive: 15,
  slot: 16,
  install: 17,
  snapshot: 18,
  rescue: 19,
} as const;
export type ExitCodeName = keyof typeof ExitCode;

export class VaError extends Error {
  constructor(
    readonly kind: ExitCodeName,
    message: string,
    readonly hint: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
  get exitCode(): number {
    return ExitCode[this.kind];
  }
}

export class UsageError extends VaError {
  constructor(message: string, hint = "Run `va-agent --help` for the commands and options.") {
    super("usage", message, hint);
  }
}

export class ManifestError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("manifest", message, hint, details);
  }
}

export class ProbeError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("probe", message, hint, details);
  }
}

export class PreflightError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("preflight", message, hint, details);
  }
}

export class PayloadError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("payload", message, hint, details);
  }
}

export class LayoutError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("layout", message, hint, details);
  }
}

export class DistroError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("distro", message, hint, details);
  }
}

export class JournalError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("journal", message, hint, details);
  }
}

export class VerificationError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("verification", message, hint, details);
  }
}

export class CommandError extends VaError {
  constructor(readonly argv: readonly string[], readonly status: number, readonly stderrTail: string) {
    super(
      "command",
      `command failed with exit status ${status}: ${formatArgv(argv)}${stderrTail ? `\n${stderrTail}` : ""}`,
      "Read the command's error above; `va-agent status` shows the journal and the log file path.",
      { argv, status, stderrTail },
    );
  }
}

/** A command ran past its time limit (a prompt, a wedged device or mount): it was killed with all it had started. */
export class CommandTimeoutError extends VaError {
  constructor(readonly argv: readonly string[], readonly timeoutSeconds: number, readonly stderrTail: string) {
    super(
      "command",
      `command ran longer than ${formatDuration(timeoutSeconds)} and was killed: ${formatArgv(argv)}${stderrTail ? `\n${stderrTail}` : ""}`,
      "It was waiting for something that did not come: a question on its input, a device or mount that stopped answering. Check the device it works on and its output in the log (`va-agent status` shows where), then run the same va-agent command again.",
      { argv, timeoutSeconds, stderrTail },
    );
  }
}

function formatDuration(seconds: number): string {
  return seconds >= 60 && seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** After the point of no return, no disk (or more than one) of this boot is the disk being migrated. */
export class TargetDiskError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("probe", message, hint, details);
  }
}

export class ToolMissingError extends VaError {
  constructor(readonly tool: string) {
    super(
      "toolMissing",
      `tool not found: ${tool}`,
      `The tiny system lacks \`${tool}\`: rebuild the initramfs with build.ts so the overlay carries it.`,
      { tool },
    );
  }
}

/**
 * A step failed: keeps the step's name and the original error's exit code and hint. After the
 * point of no return `diskState` says where the disk stands (agent/workflow/disk-state.ts), first.
 */
export class StepFailedError extends VaError {
  constructor(readonly step: string, override readonly cause: unknown, diskState?: string) {
    const inner = cause instanceof VaError ? cause : undefined;
    const cure = inner?.hint ?? `Fix the cause, then run \`va-agent step ${step}\` from the shell or \`va-agent migrate\` to resume.`;
    super(
      inner?.kind ?? "internal",
      `step ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      diskState ? `${diskState} About the cause: ${cure}` : cure,
      { step, ...(inner?.details ?? {}) },
    );
  }
}

export function exitCodeOf(error: unknown): number {
  return error instanceof VaError ? error.exitCode : ExitCode.internal;
}

/** The bundle's manifest is unsigned, wrongly signed, or no trusted key is installed. */
export class SignatureError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("signature", message, hint, details);
  }
}

/** The bundle file itself is unusable: not a tar, truncated, out of order, or holding unsafe members. */
export class BundleError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("bundle", message, hint, details);
  }
}

/** The rootfs archive inside a verified bundle would write outside the new root, or cannot boot (no kernel). */
export class ArchiveError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("archive", message, hint, details);
  }
}

/**
 * A slot command refused or could not act: the slot is empty, still being installed or bad, the box
 * has no slot boot setup, it was not booted through the slot menu, or its health check failed.
 * `details.refusal` names the case for the web UI.
 */
export class SlotError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("slot", message, hint, details);
  }
}

/**
 * `va-agent install` refused before writing anything (the system was not booted from a slot, the
 * slot layout is not recorded, the image does not fit the inactive slot), or an install stopped
 * partway: then the inactive slot is marked bad and the running slot is untouched.
 */
export class InstallError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("install", message, hint, details);
  }
}

/** `va-agent snapshot …` refused (an unknown or invalidated snapshot, no room in the VG) or an LVM command under it failed. */
export class SnapshotError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("snapshot", message, hint, details);
  }
}

/** A rescue action (factory reset, an install from the rescue system, a pending task) refused or stopped; the hint says where the disk stands. */
export class RescueError extends VaError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super("rescue", message, hint, details);
  }
}
