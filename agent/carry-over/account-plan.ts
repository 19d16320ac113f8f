import type { GroupEntry, PasswdEntry } from "./account-files.ts";
import type { CapturedAccount } from "./captured-config.ts";

/**
 * What becomes of each listed account in the new OS, judged against the new OS's /etc/passwd and
 * /etc/group: `stage` judges it against the payload's (a refusal is an inhibitor there, by name),
 * the tiny system against the extracted root (the same files) and then applies it.
 *
 * - The new OS has the account (by name): only its password hash is carried; its uid, home and
 *   shell stay the new OS's.
 * - It lacks it: the account is created with the old uid, gid, gecos, home and shell, unless the
 *   new OS gives that uid (or its primary group's gid) to another name: then it is refused, since
 *   files that carry the old numbers would belong to someone else.
 * Either way the account joins its old supplementary groups: a group the new OS has (by name) gets
 * the member; a group it lacks is created with the old gid, unless that gid is another group's
 * there, then that membership alone is left out (said so).
 */
export type AccountPlan =
  | { name: string; action: "hash-only"; notes: string[] }
  | { name: string; action: "create"; notes: string[] }
  | { name: string; action: "refused"; clashes: string[] };

export interface AccountsPlan {
  accounts: AccountPlan[];
  /** passwd entries to append. */
  passwd: PasswdEntry[];
  /** Groups to create (members included). */
  newGroups: GroupEntry[];
  /** Members to add to groups the new OS has: group name → account names. */
  memberships: Map<string, string[]>;
}

export function planAccounts(accounts: readonly CapturedAccount[], passwd: readonly PasswdEntry[], groups: readonly GroupEntry[]): AccountsPlan {
  const plan: AccountsPlan = { accounts: [], passwd: [], newGroups: [], memberships: new Map() };
  const users = [...passwd];
  const known = groups.map((group) => ({ ...group, members: [...group.members] }));
  for (const account of accounts) {
    const existing = users.find((user) => user.name === account.name);
    const clashes = existing ? [] : creationClashes(account, users, known);
    if (clashes.length > 0) {
      plan.accounts.push({ name: account.name, action: "refused", clashes });
      continue;
    }
    const notes = existing ? hashOnlyNotes(account, existing) : [];
    if (!existing) {
      const entry = { name: account.name, uid: account.uid, gid: account.gid, gecos: account.gecos, home: account.home, shell: account.shell };
      users.push(entry);
      plan.passwd.push(entry);
    }
    for (const group of account.groups) {
      if (group.primary && existing) continue; // the new OS's own account keeps its own primary group
      notes.push(...joinGroup(plan, known, account.name, group));
    }
    plan.accounts.push({ name: account.name, action: existing ? "hash-only" : "create", notes });
  }
  return plan;
}

function creationClashes(account: CapturedAccount, users: readonly PasswdEntry[], groups: readonly GroupEntry[]): string[] {
  const clashes: string[] = [];
  const uidOwner = users.find((user) => user.uid === account.uid);
  if (uidOwner) clashes.push(`uid ${account.uid} is ${uidOwner.name}'s in the new OS`);
  const primary = account.groups.find((group) => group.primary);
  const gidOwner = groups.find((group) => group.gid === account.gid);
  if (gidOwner && gidOwner.name !== primary?.name) clashes.push(`gid ${account.gid} is group ${gidOwner.name}'s in the new OS${primary ? `, not ${primary.name}'s` : ""}`);
  const sameName = primary && groups.find((group) => group.name === primary.name);
  if (sameName && sameName.gid !== primary.gid) clashes.push(`group ${primary.name} has gid ${sameName.gid} in the new OS, ${primary.gid} on the old system`);
  return clashes;
}

function hashOnlyNotes(account: CapturedAccount, existing: PasswdEntry): string[] {
  return existing.uid === account.uid ? [] : [`the new OS's ${account.name} has uid ${existing.uid} (${account.uid} on the old system); carried files keep their numeric owners`];
}

/** A created group is one object in `known` and in `plan.newGroups`: members added later land in both. */
function joinGroup(plan: AccountsPlan, known: GroupEntry[], name: string, group: CapturedAccount["groups"][number]): string[] {
  const found = known.find((g) => g.name === group.name);
  if (found) {
    if (group.primary || found.members.includes(name)) return [];
    found.members.push(name);
    if (!plan.newGroups.includes(found)) plan.memberships.set(group.name, [...(plan.memberships.get(group.name) ?? []), name]);
    return [];
  }
  const gidOwner = known.find((g) => g.gid === group.gid);
  if (gidOwner) return [`not carried: membership of group ${group.name}: the new OS lacks it and gives its gid ${group.gid} to group ${gidOwner.name}`];
  const created = { name: group.name, gid: group.gid, members: group.primary ? [] : [name] };
  known.push(created);
  plan.newGroups.push(created);
  return [];
}
