import { chmodSync, cpSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { type GroupEntry, groupLine, gshadowLine, parseGroup, parsePasswd, passwdLine, withLinesAppended, withMembersAdded } from "./account-files.ts";
import { type AccountsPlan, planAccounts } from "./account-plan.ts";
import type { CapturedAccount } from "./captured-config.ts";
import { mergePasswordHashes } from "./shadow.ts";

/** The files the account carry-over may rewrite, as paths inside the new root. */
export const ACCOUNT_FILES = ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"] as const;

/** useradd's default when login.defs sets no HOME_MODE (EL9 and Debian 12 ship 0700). */
const DEFAULT_HOME_MODE = 0o700;

/**
 * Carries the listed accounts into the new root (account-plan.ts says how): each file is replaced
 * as a whole with its mode and owner kept, so a power cut leaves the shipped file and a re-run
 * plans against it again. A re-run after a complete run finds the accounts and merges hashes only.
 */
export function carryAccounts(targetRoot: string, accounts: readonly CapturedAccount[]): AccountsPlan {
  const path = (file: string) => join(targetRoot, file);
  const read = (file: string) => (existsSync(path(file)) ? readFileSync(path(file), "utf8") : undefined);
  const passwd = read("/etc/passwd");
  if (passwd === undefined) return noPasswd(accounts);
  const group = read("/etc/group") ?? "";
  const plan = planAccounts(accounts, parsePasswd(passwd), parseGroup(group));
  const carried = new Set(plan.accounts.filter((a) => a.action !== "refused").map((a) => a.name));
  const write = (file: string, before: string | undefined, after: string, mode: number) => {
    if (after !== before) writeFileAtomically(path(file), after, modeAndOwnerOf(path(file), mode));
  };
  // passwd last: until it names the account, a re-run plans the creation again and finds the other lines in place
  const shadow = read("/etc/shadow") ?? "";
  write("/etc/shadow", shadow, withShadowLines(shadow, accounts.filter((a) => carried.has(a.name))), 0o600);
  const gshadow = read("/etc/gshadow");
  if (gshadow !== undefined) write("/etc/gshadow", gshadow, withGroupLines(gshadow, plan, gshadowLine), 0o600);
  write("/etc/group", group, withGroupLines(group, plan, groupLine), 0o644);
  write("/etc/passwd", passwd, withLinesAppended(passwd, plan.passwd.map(passwdLine)), 0o644);
  for (const entry of plan.passwd) makeHome(targetRoot, entry, homeMode(read("/etc/login.defs")));
  return plan;
}

/** The hash of an account that has a shadow line replaced; an account without one gets its old line. */
function withShadowLines(shadow: string, accounts: readonly CapturedAccount[]): string {
  const merged = mergePasswordHashes(shadow, new Map(accounts.map((a) => [a.name, a.passwordHash])));
  const missing = accounts.filter((a) => merged.missing.includes(a.name));
  return withLinesAppended(merged.text, missing.map((a) => `${a.name}:${a.passwordHash}:${a.shadowAging}`));
}

/** Members added; a new group appended unless a line of that name is there (a re-run), which then gets the members. */
function withGroupLines(text: string, plan: AccountsPlan, line: (entry: GroupEntry) => string): string {
  const present = new Set(text.split("\n").map((l) => l.split(":")[0]));
  const additions = new Map(plan.memberships);
  for (const group of plan.newGroups.filter((g) => present.has(g.name))) additions.set(group.name, group.members);
  const fresh = plan.newGroups.filter((g) => !present.has(g.name));
  return withLinesAppended(withMembersAdded(text, additions), fresh.map(line));
}

function noPasswd(accounts: readonly CapturedAccount[]): AccountsPlan {
  return { accounts: accounts.map((a) => ({ name: a.name, action: "refused", clashes: ["the new root has no /etc/passwd"] })), passwd: [], newGroups: [], memberships: new Map() };
}

/** The home from /etc/skel, owned by the account; an existing one (a carried path, a shared /home) is left alone. */
function makeHome(targetRoot: string, entry: { uid: number; gid: number; home: string }, mode: number): void {
  if (!entry.home.startsWith("/") || entry.home === "/" || existsSync(join(targetRoot, entry.home))) return;
  const home = join(targetRoot, entry.home);
  mkdirSync(join(home, ".."), { recursive: true });
  const skel = join(targetRoot, "etc/skel");
  if (existsSync(skel)) cpSync(skel, home, { recursive: true, verbatimSymlinks: true });
  else mkdirSync(home);
  chownTree(home, entry.uid, entry.gid);
  // after the chown, which clears set-id bits: the mode ends exactly as asked
  chmodSync(home, mode);
}

function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  if (!lstatSync(path).isDirectory()) return;
  for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}


/** login.defs HOME_MODE (octal), as useradd reads it. */
export function homeMode(loginDefs: string | undefined): number {
  const value = /^\s*HOME_MODE\s+([0-7]{3,4})\s*$/m.exec(loginDefs ?? "")?.[1];
  return value ? Number.parseInt(value, 8) : DEFAULT_HOME_MODE;
}
