/**
 * A command as one line a POSIX shell reads back as the same argv: plain words bare, anything else
 * in single quotes. The one spelling of a command everywhere: the log, errors, `plan`, the build.
 */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(" ");
}
