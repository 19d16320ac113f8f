/** A section of an INI-style file (NetworkManager keyfile, systemd .network/.link): keys may repeat. */
export interface IniSection {
  name: string;
  entries: [key: string, value: string][];
}

/** Sections in file order; a section name may repeat (networkd's [Route]). */
export function parseIni(text: string): IniSection[] {
  const sections: IniSection[] = [];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) sections.push({ name: header[1]!, entries: [] });
    else if (line.includes("=") && sections.length > 0) {
      const at = line.indexOf("=");
      sections.at(-1)!.entries.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
    }
  }
  return sections;
}

export function iniValues(sections: IniSection[], section: string, key: string): string[] {
  return sections.filter((s) => s.name === section).flatMap((s) => s.entries.filter(([k]) => k === key).map(([, v]) => v));
}

export function iniValue(sections: IniSection[], section: string, key: string): string | undefined {
  return iniValues(sections, section, key).at(-1);
}
