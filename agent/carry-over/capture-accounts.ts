import { parseGroup, parsePasswd, parseShadow, type GroupEntry, type PasswdEntry } from "./account-files.ts";
import type { CapturedAccount, CarryOverWarning } from "./captured-config.ts";
import { notCarried } from "./network-findings.ts";
import { readRootFile } from "./root-files.ts";

/** shadow(5) has 7 fields after the hash: lastchg, min, max, warn, inactive, expire, reserved. */
const AGING_FIELDS = 7;

/**
 * Each listed account as the old system has it: its passwd line, its shadow hash and aging, its
 * primary group and every group that lists it as a member (ROOT/etc/passwd, shadow, group).
 */
export function captureAccounts(root: string, names: readonly string[]): { accounts: CapturedAccount[]; warnings: CarryOverWarning[] } {
  const passwd = parsePasswd(readRootFile(root, "/etc/passwd") ?? "");
  const shadow = parseShadow(readRootFile(root, "/etc/shadow") ?? "");
  const groups = parseGroup(readRootFile(root, "/etc/group") ?? "");
  const accounts: CapturedAccount[] = [];
  const warnings: CarryOverWarning[] = [];
  for (const name of names) {
    const entry = passwd.find((p) => p.name === name);
    const shadowFields = shadow.get(name);
    if (!entry) warnings.push(notCarried("account-missing", `account ${name} is not in /etc/passwd`));
    else if (!shadowFields) warnings.push(notCarried("account-missing", `account ${name} has no line in /etc/shadow`));
    else accounts.push(capturedAccount(entry, shadowFields, groups));
  }
  return { accounts, warnings };
}

function capturedAccount(entry: PasswdEntry, shadowFields: string[], groups: GroupEntry[]): CapturedAccount {
  const [hash, ...aging] = shadowFields;
  return {
    name: entry.name,
    passwordHash: hash ?? "",
    uid: entry.uid,
    gid: entry.gid,
    gecos: entry.gecos,
    home: entry.home,
    shell: entry.shell,
    groups: groupsOf(entry, groups),
    shadowAging: [...aging, ...Array<string>(AGING_FIELDS).fill("")].slice(0, AGING_FIELDS).join(":"),
  };
}

/** The primary group (by gid; none when /etc/group lacks it, as on the old system) first, then the supplementary ones. */
function groupsOf(entry: PasswdEntry, groups: GroupEntry[]): CapturedAccount["groups"] {
  const primary = groups.find((group) => group.gid === entry.gid);
  const supplementary = groups.filter((group) => group !== primary && group.members.includes(entry.name));
  return [
    ...(primary ? [{ name: primary.name, gid: primary.gid, primary: true }] : []),
    ...supplementary.map((group) => ({ name: group.name, gid: group.gid, primary: false })),
  ];
}
