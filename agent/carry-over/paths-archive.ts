/** GNU tar keeps owners, modes, ACLs and xattrs (SELinux labels too); paths are stored relative to root. */
export function archivePathsCommand(root: string, paths: readonly string[], archive: string): string[] {
  return [
    "tar",
    "--create",
    `--file=${archive}`,
    "--numeric-owner",
    "--acls",
    "--xattrs",
    "--xattrs-include=*",
    `--directory=${root}`,
    "--",
    ...paths.map((path) => path.replace(/^\/+/, "")),
  ];
}

export function restorePathsCommand(archive: string, targetRoot: string): string[] {
  return [
    "tar",
    "--extract",
    `--file=${archive}`,
    "--numeric-owner",
    "--preserve-permissions",
    "--acls",
    "--xattrs",
    "--xattrs-include=*",
    `--directory=${targetRoot}`,
  ];
}
