import type { RenderedFile } from "./rendered-file.ts";

export function renderHostname(hostname: string): RenderedFile {
  return { path: "/etc/hostname", content: `${hostname}\n`, mode: 0o644 };
}

/** Debian resolves its own name through a 127.0.1.1 line; the new root's line names its build host. */
export function withHostsEntry(hostsText: string, hostname: string): string {
  const short = hostname.split(".")[0]!;
  const entry = `127.0.1.1\t${hostname === short ? hostname : `${hostname} ${short}`}`;
  const lines = hostsText.split("\n");
  const existing = lines.findIndex((line) => /^127\.0\.1\.1\s/.test(line));
  if (existing !== -1) lines[existing] = entry;
  else {
    const localhost = lines.findIndex((line) => /^127\.0\.0\.1\s/.test(line));
    lines.splice(localhost + 1, 0, entry);
  }
  const text = lines.join("\n");
  return text.endsWith("\n") ? text : `${text}\n`;
}
