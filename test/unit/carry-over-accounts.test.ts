import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseGroup, parsePasswd, withMembersAdded } from "../../agent/carry-over/account-files.ts";
import { planAccounts } from "../../agent/carry-over/account-plan.ts";
import { captureAccounts } from "../../agent/carry-over/capture-accounts.ts";
import type { CapturedAccount } from "../../agent/carry-over/captured-config.ts";
import { carryAccounts, homeMode } from "../../agent/carry-over/create-accounts.ts";
import { checkCarriedAccounts } from "../../agent/preflight/carry-over-checks.ts";

/** An old CentOS 7 appliance as useradd left it: an operator login, a service account, a shared data group. */
const EL7_PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "bin:x:1:1:bin:/bin:/sbin/nologin",
  "polkitd:x:999:998:User for polkitd:/:/sbin/nologin",
  "admin:x:1000:1000:Appliance Administrator:/home/admin:/bin/bash",
  "appsvc:x:997:995:Appliance service:/opt/app:/sbin/nologin",
  "",
].join("\n");
const EL7_SHADOW = [
  "root:$6$oldsalt$roothash:19000:0:99999:7:::",
  "bin:*:18353:0:99999:7:::",
  "polkitd:!!:18900::::::",
  "admin:$6$adminsalt$adminhash:19001:0:99999:7:::",
  "appsvc:!!:19001::::::",
  "",
].join("\n");
const EL7_GROUP = ["root:x:0:", "bin:x:1:", "wheel:x:10:admin", "users:x:100:", "polkitd:x:998:", "appsvc:x:995:", "admin:x:1000:", "appdata:x:1500:admin,appsvc", ""].join("\n");

/** A Debian 13 payload root as debootstrap and its packages leave it (systemd's users take 997/998 there). */
const DEBIAN_PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
  "_apt:x:42:65534::/nonexistent:/usr/sbin/nologin",
  "systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin",
  "systemd-timesync:x:997:997:systemd Time Synchronization:/:/usr/sbin/nologin",
  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
  "",
].join("\n");
const DEBIAN_GROUP = ["root:x:0:", "adm:x:4:", "uucp:x:10:", "sudo:x:27:", "users:x:100:", "systemd-timesync:x:997:", "systemd-network:x:998:", "nogroup:x:65534:", ""].join("\n");
const DEBIAN_GSHADOW = ["root:*::", "adm:*::", "uucp:*::", "sudo:*::", "users:*::", "systemd-timesync:!*::", "systemd-network:!*::", "nogroup:*::", ""].join("\n");
const DEBIAN_SHADOW = ["root:*:20000:0:99999:7:::", "daemon:*:20000:0:99999:7:::", "_apt:*:20000:0:99999:7:::", "nobody:*:20000:0:99999:7:::", ""].join("\n");

function oldRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "va-old-accounts-"));
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc/passwd"), EL7_PASSWD);
  writeFileSync(join(root, "etc/shadow"), EL7_SHADOW, { mode: 0o000 });
  writeFileSync(join(root, "etc/group"), EL7_GROUP);
  return root;
}

function newRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "va-new-accounts-"));
  mkdirSync(join(root, "etc/skel"), { recursive: true });
  writeFileSync(join(root, "etc/passwd"), DEBIAN_PASSWD, { mode: 0o644 });
  writeFileSync(join(root, "etc/group"), DEBIAN_GROUP, { mode: 0o644 });
  writeFileSync(join(root, "etc/shadow"), DEBIAN_SHADOW, { mode: 0o640 });
  writeFileSync(join(root, "etc/gshadow"), DEBIAN_GSHADOW, { mode: 0o640 });
  writeFileSync(join(root, "etc/skel/.bashrc"), "# ~/.bashrc\n", { mode: 0o644 });
  writeFileSync(join(root, "etc/skel/.profile"), "# ~/.profile\n", { mode: 0o644 });
  writeFileSync(join(root, "etc/login.defs"), "UMASK\t\t022\nHOME_MODE\t0700\n");
  return root;
}

function captured(names: string[]): CapturedAccount[] {
  return captureAccounts(oldRoot(), names).accounts;
}

const read = (root: string, file: string) => readFileSync(join(root, file), "utf8");

describe("capture of the listed accounts", () => {
  test("passwd line, shadow hash and aging, primary and supplementary groups with their gids", () => {
    const { accounts, warnings } = captureAccounts(oldRoot(), ["admin", "appsvc"]);
    expect(warnings).toEqual([]);
    expect(accounts[0]).toEqual({
      name: "admin",
      passwordHash: "$6$adminsalt$adminhash",
      uid: 1000,
      gid: 1000,
      gecos: "Appliance Administrator",
      home: "/home/admin",
      shell: "/bin/bash",
      groups: [
        { name: "admin", gid: 1000, primary: true },
        { name: "wheel", gid: 10, primary: false },
        { name: "appdata", gid: 1500, primary: false },
      ],
      shadowAging: "19001:0:99999:7:::",
    });
    expect(accounts[1]!.shadowAging).toBe("19001::::::");
    expect(accounts[1]!.passwordHash).toBe("!!");
  });

  test("an account absent from the old system is not carried, by name", () => {
    const { accounts, warnings } = captureAccounts(oldRoot(), ["root", "operator"]);
    expect(accounts.map((a) => a.name)).toEqual(["root"]);
    expect(warnings).toEqual([{ id: "account-missing", message: "not carried: account operator is not in /etc/passwd" }]);
  });

  test("NIS compat and comment lines name no account", () => {
    expect(parsePasswd("+::::::\n# x\n-bad:x:1:1::/:/bin/sh\nok:x:5:5::/:/bin/sh\n").map((p) => p.name)).toEqual(["ok"]);
    expect(parseGroup("+:::\nwheel:x:10:a, b\n")).toEqual([{ name: "wheel", gid: 10, members: ["a", "b"] }]);
  });
});

describe("the plan against the new OS's passwd and group", () => {
  const plan = (names: string[]) => planAccounts(captured(names), parsePasswd(DEBIAN_PASSWD), parseGroup(DEBIAN_GROUP));

  test("root exists there: hash only; admin is created, its groups made or joined", () => {
    const result = plan(["root", "admin"]);
    expect(result.accounts).toEqual([
      { name: "root", action: "hash-only", notes: [] },
      { name: "admin", action: "create", notes: ["not carried: membership of group wheel: the new OS lacks it and gives its gid 10 to group uucp"] },
    ]);
    expect(result.passwd).toEqual([{ name: "admin", uid: 1000, gid: 1000, gecos: "Appliance Administrator", home: "/home/admin", shell: "/bin/bash" }]);
    expect(result.newGroups).toEqual([
      { name: "admin", gid: 1000, members: [] },
      { name: "appdata", gid: 1500, members: ["admin"] },
    ]);
  });

  test("uid 997 is systemd-timesync's on Debian: appsvc is refused by name", () => {
    const result = plan(["appsvc"]);
    expect(result.accounts).toEqual([{ name: "appsvc", action: "refused", clashes: ["uid 997 is systemd-timesync's in the new OS"] }]);
    expect(result.passwd).toEqual([]);
  });

  test("a primary gid given to another group, or the primary group under another gid, is a clash", () => {
    const taken = planAccounts(captured(["admin"]), parsePasswd(DEBIAN_PASSWD), parseGroup(`${DEBIAN_GROUP}debian:x:1000:\n`));
    expect(taken.accounts[0]).toEqual({ name: "admin", action: "refused", clashes: ["gid 1000 is group debian's in the new OS, not admin's"] });
    const moved = planAccounts(captured(["admin"]), parsePasswd(DEBIAN_PASSWD), parseGroup(`${DEBIAN_GROUP}admin:x:1001:\n`));
    expect(moved.accounts[0]).toEqual({ name: "admin", action: "refused", clashes: ["group admin has gid 1001 in the new OS, 1000 on the old system"] });
  });

  test("an account the new OS has joins the groups it has; a group it lacks is created once for all accounts", () => {
    const withAdmin = `${DEBIAN_PASSWD}admin:x:1001:1001::/home/admin:/bin/bash\n`;
    const result = planAccounts(captured(["admin", "root"]), parsePasswd(withAdmin), parseGroup(`${DEBIAN_GROUP}admin:x:1001:\nwheel:x:11:\n`));
    expect(result.accounts[0]).toEqual({ name: "admin", action: "hash-only", notes: ["the new OS's admin has uid 1001 (1000 on the old system); carried files keep their numeric owners"] });
    expect(result.memberships).toEqual(new Map([["wheel", ["admin"]]]));
    expect(result.newGroups).toEqual([{ name: "appdata", gid: 1500, members: ["admin"] }]);
  });
});

describe("carried into the new root", () => {
  test("passwd, shadow (hash and aging), group, gshadow and a home from /etc/skel, every file keeping its mode", () => {
    const root = newRoot();
    const plan = carryAccounts(root, captured(["root", "admin"]));
    expect(plan.accounts.map((a) => a.action)).toEqual(["hash-only", "create"]);
    expect(read(root, "etc/passwd")).toBe(`${DEBIAN_PASSWD}admin:x:1000:1000:Appliance Administrator:/home/admin:/bin/bash\n`);
    expect(read(root, "etc/shadow")).toBe(
      `${DEBIAN_SHADOW.replace("root:*:", "root:$6$oldsalt$roothash:")}admin:$6$adminsalt$adminhash:19001:0:99999:7:::\n`,
    );
    expect(read(root, "etc/group")).toBe(`${DEBIAN_GROUP}admin:x:1000:\nappdata:x:1500:admin\n`);
    expect(read(root, "etc/gshadow")).toBe(`${DEBIAN_GSHADOW}admin:!::\nappdata:!::admin\n`);
    expect(statSync(join(root, "etc/shadow")).mode & 0o7777).toBe(0o640);
    expect(statSync(join(root, "etc/gshadow")).mode & 0o7777).toBe(0o640);
    expect(statSync(join(root, "etc/passwd")).mode & 0o7777).toBe(0o644);
    const home = statSync(join(root, "home/admin"));
    expect([home.mode & 0o7777, home.uid, home.gid]).toEqual([0o700, 1000, 1000]);
    const bashrc = statSync(join(root, "home/admin/.bashrc"));
    expect([bashrc.uid, bashrc.gid]).toEqual([1000, 1000]);
    expect(read(root, "home/admin/.profile")).toBe("# ~/.profile\n");
  });

  test("a second run changes nothing: the accounts are there, their hashes merged again", () => {
    const root = newRoot();
    carryAccounts(root, captured(["root", "admin"]));
    const once = ["passwd", "shadow", "group", "gshadow"].map((file) => read(root, `etc/${file}`));
    expect(carryAccounts(root, captured(["root", "admin"])).accounts.map((a) => a.action)).toEqual(["hash-only", "hash-only"]);
    expect(["passwd", "shadow", "group", "gshadow"].map((file) => read(root, `etc/${file}`))).toEqual(once);
  });

  test("a power cut before passwd was written: the re-run creates the account without doubling a line", () => {
    const root = newRoot();
    carryAccounts(root, captured(["admin"]));
    const complete = ["passwd", "shadow", "group", "gshadow"].map((file) => read(root, `etc/${file}`));
    writeFileSync(join(root, "etc/passwd"), DEBIAN_PASSWD);
    carryAccounts(root, captured(["admin"]));
    expect(["passwd", "shadow", "group", "gshadow"].map((file) => read(root, `etc/${file}`))).toEqual(complete);
  });

  test("a clash found only in the tiny system leaves that account out and writes nothing for it", () => {
    const root = newRoot();
    const plan = carryAccounts(root, captured(["appsvc"]));
    expect(plan.accounts[0]!.action).toBe("refused");
    expect(read(root, "etc/passwd")).toBe(DEBIAN_PASSWD);
    expect(read(root, "etc/shadow")).toBe(DEBIAN_SHADOW);
  });

  test("an existing home (a carried path) is left as it is", () => {
    const root = newRoot();
    mkdirSync(join(root, "home/admin"), { recursive: true, mode: 0o755 });
    writeFileSync(join(root, "home/admin/report.txt"), "kept\n");
    carryAccounts(root, captured(["admin"]));
    expect(statSync(join(root, "home/admin")).mode & 0o777).toBe(0o755);
    expect(() => statSync(join(root, "home/admin/.bashrc"))).toThrow();
  });

  test("HOME_MODE from login.defs, else useradd's 0700", () => {
    expect(homeMode("HOME_MODE\t0750\n")).toBe(0o750);
    expect(homeMode("#HOME_MODE 0755\n")).toBe(0o700);
    expect(homeMode(undefined)).toBe(0o700);
  });

  test("members are added to the 4th field of group and gshadow lines only", () => {
    expect(withMembersAdded("sudo:x:27:\nadm:x:4:syslog\n", new Map([["adm", ["admin", "syslog"]]]))).toBe("sudo:x:27:\nadm:x:4:syslog,admin\n");
  });
});

describe("stage's account check against the payload", () => {
  const config = (names: string[]) => ({ format: 2 as const, interfaces: [], dns: { servers: [], search: [] }, accounts: captured(names), mounts: [], paths: [], warnings: [] });

  test("hash-only and created accounts are listed; a passed check", () => {
    const { check } = checkCarriedAccounts(config(["root", "admin"]), { passwd: DEBIAN_PASSWD, group: `${DEBIAN_GROUP}wheel:x:11:\n` });
    expect(check.severity).toBe("ok");
    expect(check.finding).toBe("password hash carried (the new OS has the account): root; created with their old uid, groups and home: admin");
  });

  test("a membership left out is a warning naming the group", () => {
    const { check } = checkCarriedAccounts(config(["admin"]), { passwd: DEBIAN_PASSWD, group: DEBIAN_GROUP });
    expect(check.severity).toBe("warning");
    expect(check.finding).toContain("admin: not carried: membership of group wheel: the new OS lacks it and gives its gid 10 to group uucp");
  });

  test("a uid clash is an inhibitor naming the account, the id and its owner there", () => {
    const { check } = checkCarriedAccounts(config(["admin", "appsvc"]), { passwd: DEBIAN_PASSWD, group: `${DEBIAN_GROUP}wheel:x:11:\n` });
    expect(check.severity).toBe("inhibitor");
    expect(check.finding).toStartWith("the new OS gives these accounts' ids to other names: appsvc: uid 997 is systemd-timesync's in the new OS");
    expect(check.remedy).toContain("usermod -u");
  });

  test("deferred (no xz at stage): a warning saying where it is decided", () => {
    const { check, plan } = checkCarriedAccounts(config(["admin"]), undefined);
    expect(plan).toBeUndefined();
    expect(check.severity).toBe("warning");
    expect(check.finding).toContain("the payload's accounts are read in the tiny system (no xz here): admin will be merged or created there");
  });

  test("a payload without etc/passwd cannot take accounts: inhibitor", () => {
    expect(checkCarriedAccounts(config(["admin"]), {}).check.severity).toBe("inhibitor");
  });
});
