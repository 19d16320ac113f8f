/**
 * KEY=value lines of a shell-sourced file (ifcfg-*, /etc/sysconfig/network) as the shell reads the value:
 * '…' literal, "…" with \" \\ \$ \` escapes, $'…' (NetworkManager's writer uses it for control
 * characters), backslash escapes outside quotes; the value ends at unquoted white space, what follows is
 * a comment or ignored. CRLF line ends (files edited on Windows) are read like LF.
 */
export function parseShellVariables(text: string): Map<string, string> {
  const variables = new Map<string, string>();
  for (const rawLine of text.replaceAll("\r\n", "\n").split("\n")) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=([^\n]*)$/.exec(rawLine);
    if (match) variables.set(match[1]!, shellWord(match[2]!));
  }
  return variables;
}

function shellWord(text: string): string {
  let value = "";
  let i = 0;
  const until = (end: string, escapes: (next: string) => string | undefined): void => {
    for (i++; i < text.length && text[i] !== end; i++) {
      const escaped = text[i] === "\\" ? escapes(text[i + 1] ?? "") : undefined;
      if (escaped !== undefined) {
        value += escaped;
        i++;
      } else value += text[i];
    }
    i++;
  };
  while (i < text.length && !/\s/.test(text[i]!)) {
    const char = text[i]!;
    if (char === "'") until("'", () => undefined);
    else if (char === '"') until('"', (next) => ('"\\$`'.includes(next) && next !== "" ? next : undefined));
    else if (char === "$" && text[i + 1] === "'") {
      i++;
      until("'", ansiCEscape);
    } else if (char === "\\") {
      value += text[i + 1] ?? "";
      i += 2;
    } else {
      value += char;
      i++;
    }
  }
  return value;
}

const ANSI_C: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', a: "\x07", b: "\b", e: "\x1b", f: "\f", v: "\v" };

function ansiCEscape(next: string): string | undefined {
  return ANSI_C[next];
}
