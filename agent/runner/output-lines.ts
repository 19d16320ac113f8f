/** The non-blank lines of a command's output, as the line-per-record reports (lsblk --pairs, pvs, dmsetup table) print them. */
export function outputLines(stdout: string): string[] {
  return stdout.split("\n").filter((line) => line.trim());
}
