import { type PreflightCheck, warning } from "../preflight/check.ts";

/**
 * Where the payload archive's members are judged (archive-lint.ts): by `stage` on the old system,
 * or, when the old system has no xz to read an xz payload, by the tiny system's check-payload-archive
 * step, before the point of no return. `stage` carries the deferral on the migration entry's kernel
 * command line, like va.insecure (staged-trust.ts). A zstd payload is always checked at stage (in-process).
 */
export type ArchiveCheck = "at-stage" | "deferred";

export const CHECK_ARCHIVE_ARG = "va.check-archive";

export function archiveCheckArgs(check: ArchiveCheck): string[] {
  return check === "deferred" ? [CHECK_ARCHIVE_ARG] : [];
}

export function archiveCheckOf(cmdline: string): ArchiveCheck {
  return cmdline.split(/\s+/).includes(CHECK_ARCHIVE_ARG) ? "deferred" : "at-stage";
}

/** stage's report line when it could not read the archive's members itself. */
export function deferredArchiveCheck(): PreflightCheck {
  return warning(
    "payload-archive",
    "the payload archive's members",
    "no xz on this system: the payload archive's members will be checked in the tiny system, before the point of no return",
    "Nothing to do: the payload's SHA-256 was verified here; an unsafe archive stops the migration in the tiny system and the old system boots again. A bundle with a zstd payload is checked here, in-process.",
  );
}
