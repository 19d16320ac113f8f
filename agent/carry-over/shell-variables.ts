/** KEY=value lines of a shell-sourced file (ifcfg-*, /etc/sysconfig/network), quotes removed. */
export function parseShellVariables(text: string): Map<string, string> {
  const variables = new Map<string, string>();
  for (const rawLine of text.split("\n")) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(rawLine);
    if (!match) continue;
    variables.set(match[1]!, unquote(match[2]!.trim()));
  }
  return variables;
}

function unquote(value: string): string {
  const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  if (quoted) return quoted[1]!;
  return value.replace(/\s+#.*$/, "");
}
