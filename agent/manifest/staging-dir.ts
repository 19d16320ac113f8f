import { ManifestError } from "../errors/errors.ts";
import { DEFAULT_STAGING_DIR } from "../paths.ts";
import type { Manifest } from "./manifest.ts";

/**
 * Where the payload is staged on the old root is the manifest's fact (payload.stagingDir): `stage`
 * writes there, the tiny system reads there. The tiny system needs it before it can read the
 * manifest, so the one-time migration entry carries it on the kernel command line.
 */
export const STAGING_DIR_ARG = "va.staging";
/** It goes on a GRUB `linux` line unquoted: no blanks, quotes or GRUB metacharacters. */
const COMMAND_LINE_SAFE = /^\/[A-Za-z0-9._+/-]*$/;

export function stagingDirOf(manifest: Readonly<Pick<Manifest, "payload">>): string {
  return manifest.payload.stagingDir;
}

export function stagingDirArg(manifest: Readonly<Pick<Manifest, "payload">>): string {
  return `${STAGING_DIR_ARG}=${stagingDirOf(manifest)}`;
}

/** A problem with a manifest's stagingDir, for the manifest's own consistency check. */
export function stagingDirProblem(stagingDir: string): string | undefined {
  if (!COMMAND_LINE_SAFE.test(stagingDir)) return `payload.stagingDir: "${stagingDir}" must be an absolute path of letters, digits and . _ + - / (it goes on the tiny system's kernel command line)`;
  if (stagingDir.split("/").includes("..")) return `payload.stagingDir: "${stagingDir}" must not contain ".."`;
  if (stagingDir.replace(/\/+$/, "") === "") return `payload.stagingDir: "${stagingDir}" must be a directory below /`;
  return undefined;
}

/** Where the tiny system looks for the staged manifest: `--staging`, else what the migration entry says, else the default. */
export function stagingDirToSearch(flag: string | undefined, cmdline: string): string {
  const fromEntry = new RegExp(`(?:^|\\s)${STAGING_DIR_ARG.replace(".", "\\.")}=(\\S+)`).exec(cmdline)?.[1];
  return flag ?? fromEntry ?? DEFAULT_STAGING_DIR;
}

/** The manifest found in `searched` must say it is staged there: every later step reads the manifest's directory. */
export function checkStagedWhereManifestSays(manifest: Readonly<Pick<Manifest, "payload">>, searched: string): void {
  if (stagingDirOf(manifest) === searched) return;
  throw new ManifestError(
    `the manifest found in ${searched} says the payload is staged in ${stagingDirOf(manifest)}`,
    "Stage the bundle again with `va-agent stage`: it writes to the manifest's stagingDir and arms an entry that names it; nothing was changed.",
    { searched, stagingDir: stagingDirOf(manifest) },
  );
}
