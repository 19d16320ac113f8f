/**
 * The colon-separated account databases (passwd(5), group(5), shadow(5), gshadow(5)): read into
 * entries, and changed only by appending lines or members, so every line va-agent does not touch
 * stays byte for byte.
 */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** NIS compat lines (`+`, `-`) and malformed ones name no local account: skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  return fieldsOf(text, 7).flatMap(([name, , uid, gid, gecos, home, shell]) =>
    isId(uid) && isId(gid) ? [{ name: name!, uid: Number(uid), gid: Number(gid), gecos: gecos!, home: home!, shell: shell! }] : [],
  );
}

export function parseGroup(text: string): GroupEntry[] {
  return fieldsOf(text, 4).flatMap(([name, , gid, members]) => (isId(gid) ? [{ name: name!, gid: Number(gid), members: memberList(members!) }] : []));
}

/** shadow lines by name: the fields after the name. */
export function parseShadow(text: string): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const [name, ...rest] of fieldsOf(text, 2)) if (!byName.has(name!)) byName.set(name!, rest);
  return byName;
}

export function passwdLine(entry: PasswdEntry): string {
  return [entry.name, "x", entry.uid, entry.gid, entry.gecos, entry.home, entry.shell].join(":");
}

export function groupLine(entry: GroupEntry): string {
  return [entry.name, "x", entry.gid, entry.members.join(",")].join(":");
}

/** A group without a password, as groupadd writes it. */
export function gshadowLine(entry: GroupEntry): string {
  return [entry.name, "!", "", entry.members.join(",")].join(":");
}

/** The text with `lines` appended, each on a line of its own. */
export function withLinesAppended(text: string, lines: readonly string[]): string {
  if (lines.length === 0) return text;
  const body = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return `${body}${lines.join("\n")}\n`;
}

/** group and gshadow keep the members in their 4th field: `additions` (group → names) appended there. */
export function withMembersAdded(text: string, additions: ReadonlyMap<string, readonly string[]>): string {
  return text
    .split("\n")
    .map((line) => {
      const fields = line.split(":");
      const add = additions.get(fields[0]!);
      if (!add || fields.length < 4) return line;
      const members = memberList(fields[3]!);
      fields[3] = [...members, ...add.filter((name) => !members.includes(name))].join(",");
      return fields.join(":");
    })
    .join("\n");
}

function fieldsOf(text: string, minimum: number): string[][] {
  return text
    .split("\n")
    .map((line) => line.replace(/\r$/, ""))
    .filter((line) => line && !line.startsWith("#") && !line.startsWith("+") && !line.startsWith("-"))
    .map((line) => line.split(":"))
    .filter((fields) => fields.length >= minimum && fields[0] !== "");
}

function memberList(field: string): string[] {
  return field.split(",").map((name) => name.trim()).filter(Boolean);
}

function isId(field: string | undefined): boolean {
  return field !== undefined && /^\d+$/.test(field);
}
