import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CapturedConfig, type CapturedInterface, type CarryOverWarning, writeCapturedConfig } from "../../agent/carry-over/captured-config.ts";
import { managementInterfaces } from "../../agent/carry-over/cross-check-live.ts";
import type { LiveNetwork } from "../../agent/carry-over/live-network.ts";
import { managementGaps, restsOn } from "../../agent/carry-over/management-network.ts";
import { stageCommand } from "../../agent/cli/stage.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { checkCarriedNetwork } from "../../agent/preflight/carry-over-checks.ts";
import { carryOverReport, renderCarryOver } from "../../agent/preflight/carry-over-report.ts";
import { buildTestBundle, captureStdout, makeWorkspace, removeWorkspaces, writeRawTar, type RawEntry } from "./bundle-fixture.ts";
import { stageableOldBox } from "./old-box-fixture.ts";
import { FakeRunner } from "./fake-runner.ts";
import { stagedTinySystem } from "./fixtures/staged-tiny-system.ts";
import { ZxRunner } from "../../agent/runner/runner.ts";
import { checkPayloadArchive } from "../../agent/steps/check-payload-archive.ts";
import { MIGRATION_STEPS } from "../../agent/steps/index.ts";
import { runMigration } from "../../agent/workflow/migrate.ts";

afterAll(removeWorkspaces);

/** The appliance of issue 14: an LACP bond of two NICs, a tagged management VLAN on it (IPv4 + IPv6), a third NIC configured but disabled. */
const INTERFACES: CapturedInterface[] = [
  { name: "eth0", kind: "ethernet", mac: "52:54:00:14:00:01", activation: "boot", controller: "bond0" },
  { name: "eth1", kind: "ethernet", mac: "52:54:00:14:00:02", activation: "boot", controller: "bond0" },
  { name: "bond0", kind: "bond", activation: "boot", bond: { mode: "802.3ad", miimon: 100, lacpRate: "fast" } },
  {
    name: "bond0.100",
    kind: "vlan",
    activation: "boot",
    vlan: { id: 100, parent: "bond0" },
    ipv4: { dhcp: false, addresses: [{ address: "192.0.2.10", prefix: 24 }], gateway: { via: "192.0.2.1" }, routes: [] },
    ipv6: { autoconf: false, dhcp: false, addresses: [{ address: "2001:db8:100::10", prefix: 64 }], gateway: { via: "2001:db8:100::1" }, routes: [] },
  },
  { name: "eth2", kind: "ethernet", mac: "52:54:00:14:00:03", activation: "manual", ipv4: { dhcp: false, addresses: [{ address: "198.51.100.7", prefix: 24 }], routes: [] } },
];

const LIVE = { links: [{ name: "bond0.100", mac: "52:54:00:14:00:01", kind: "vlan", vlan: { id: 100, parent: "bond0" }, ipv4: [{ address: "192.0.2.10", prefix: 24 }], ipv6: [] }], defaultRoutes: [{ family: "ipv4", dev: "bond0.100", gateway: "192.0.2.1" }] } as LiveNetwork;

const WIFI: CarryOverWarning = { id: "kind-unsupported", message: "not carried: wlan0 (/etc/sysconfig/network-scripts/ifcfg-wlan0): TYPE=Wireless, Wi-Fi is not carried", interface: "wlan0" };
const ETHTOOL: CarryOverWarning = { id: "option-unsupported", message: "not carried: eth1 (/etc/sysconfig/network-scripts/ifcfg-eth1): ETHTOOL_OPTS=\"-K eth1 gro off\"", interface: "eth1" };

function config(warnings: CarryOverWarning[] = []): CapturedConfig {
  return { format: 2, hostname: "appliance01", interfaces: INTERFACES, dns: { servers: ["192.0.2.53"], search: ["corp.example"] }, accounts: [], mounts: [], paths: [], warnings };
}

const NETWORK_ON = { carryOver: { accounts: [], paths: [], network: true } };

describe("the management network", () => {
  test("a VLAN rests on its bond and the bond's ports", () => {
    expect(restsOn(INTERFACES, "bond0.100")).toEqual(["bond0", "eth0", "eth1"]);
    expect(restsOn(INTERFACES, "eth2")).toEqual([]);
  });

  test("the interface of the live default route, and the one with the --reached-via address (live or in the files)", () => {
    const managementBond = ["bond0", "bond0.100", "eth0", "eth1"];
    expect(managementInterfaces(INTERFACES, LIVE)).toEqual(managementBond);
    expect(managementInterfaces(INTERFACES, undefined, "2001:DB8:100::10")).toEqual(managementBond);
    expect(managementInterfaces(INTERFACES, LIVE, "198.51.100.7")).toEqual([...managementBond, "eth2"]);
    const renamed = { links: [{ name: "ens5", mac: "52:54:00:14:00:03", ipv4: [], ipv6: [] }], defaultRoutes: [{ family: "ipv4", dev: "ens5", gateway: "198.51.100.1" }] } as unknown as LiveNetwork;
    expect(managementInterfaces(INTERFACES, renamed)).toEqual(["eth2"]);
  });

  test("a port of the management bond with something not carried is an inhibitor naming it", () => {
    expect(managementGaps(INTERFACES, [ETHTOOL, WIFI], ["bond0.100"])).toEqual(new Map([["eth1", [ETHTOOL.message]]]));
    const check = checkCarriedNetwork(config([ETHTOOL]), ["bond0.100"], NETWORK_ON);
    expect(check.severity).toBe("inhibitor");
    expect(check.finding).toBe(`the management network (bond0.100) would not come back as it is on the new system: eth1: ${ETHTOOL.message}`);
  });

  test("reached over an interface the capture did not understand: inhibitor", () => {
    const check = checkCarriedNetwork(config([WIFI]), ["wlan0"], NETWORK_ON);
    expect(check.severity).toBe("inhibitor");
    expect(check.finding).toContain(`wlan0: ${WIFI.message}; wlan0 is not in the captured configuration`);
  });

  test("another interface not carried is a warning by interface; an unknown management interface is a warning with the option to name it", () => {
    expect(checkCarriedNetwork(config([WIFI]), ["bond0.100"], NETWORK_ON)).toMatchObject({ severity: "warning", finding: `management interface(s): bond0.100, carried; wlan0: ${WIFI.message}` });
    const unknown = checkCarriedNetwork(config(), [], NETWORK_ON);
    expect(unknown.severity).toBe("warning");
    expect(unknown.remedy).toContain("--reached-via ADDRESS");
    expect(checkCarriedNetwork(config(), ["bond0.100"], NETWORK_ON)).toMatchObject({ severity: "ok", finding: "management interface(s): bond0.100, carried; 5 interface(s) carried" });
  });

  test("network carry-over off in the manifest: nothing to inhibit", () => {
    expect(checkCarriedNetwork(config([ETHTOOL]), ["bond0.100"], { carryOver: { accounts: [], paths: [], network: false } }).severity).toBe("ok");
  });
});

describe("stage --json carryOver", () => {
  test("each interface with kind, MAC, activation, addresses, management and what is not carried", () => {
    const report = carryOverReport({ config: config([ETHTOOL, WIFI]), mountsLeft: [] }, NETWORK_ON, ["bond0.100"], undefined);
    expect(report.management).toEqual(["bond0.100"]);
    expect(report.interfaces.map((i) => [i.name, i.kind ?? null, i.carried, i.management])).toEqual([
      ["eth0", "ethernet", "yes", true],
      ["eth1", "ethernet", "partly", true],
      ["bond0", "bond", "yes", true],
      ["bond0.100", "vlan", "yes", true],
      ["eth2", "ethernet", "yes", false],
      ["wlan0", null, "no", false],
    ]);
    expect(report.interfaces[3]).toEqual({
      name: "bond0.100",
      kind: "vlan",
      activation: "boot",
      addresses: ["192.0.2.10/24", "2001:db8:100::10/64"],
      dhcp: { ipv4: false, ipv6: false, autoconf: false },
      management: true,
      carried: "yes",
      notCarried: [],
      notes: [],
    });
    expect(report.interfaces[4]).toMatchObject({ mac: "52:54:00:14:00:03", activation: "manual" });
    expect(report.interfaces[5]).toEqual({ name: "wlan0", addresses: [], dhcp: { ipv4: false, ipv6: false, autoconf: false }, management: false, carried: "no", notCarried: [WIFI.message], notes: [] });
    const text = renderCarryOver(report);
    expect(text).toContain("    bond0.100 (vlan, boot) 192.0.2.10/24 2001:db8:100::10/64 [management]: carried\n");
    expect(text).toContain(`    wlan0: NOT carried: ${WIFI.message}\n`);
  });
});

describe("stage end to end: the payload's accounts judged in the archive check's one pass", () => {
  const KVER = "6.12.0-va";
  const DEBIAN_PASSWD = "root:x:0:0:root:/root:/bin/bash\nsystemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\n";

  function payload(passwd: string): (path: string) => void {
    const entries: RawEntry[] = [
      { name: "./", type: "directory" },
      { name: "./boot/", type: "directory" },
      { name: `./boot/vmlinuz-${KVER}`, body: Buffer.alloc(4096, 7) },
      { name: `./usr/lib/modules/${KVER}/modules.dep`, body: Buffer.from("\n") },
      { name: "./etc/fstab", body: Buffer.from("/dev/mapper/VA-root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n/dev/mapper/VA-data /data ext4 defaults 0 2\n") },
      { name: "./etc/passwd", body: Buffer.from(passwd) },
      { name: "./etc/group", body: Buffer.from("root:x:0:\nsystemd-network:x:998:\n") },
    ];
    return (path) => {
      writeRawTar(`${path}.tar`, entries);
      const xz = Bun.spawnSync(["xz", "-c", "-0"], { stdin: readFileSync(`${path}.tar`), stdout: "pipe", stderr: "pipe" });
      writeFileSync(path, Buffer.from(xz.stdout));
      unlinkSync(`${path}.tar`);
    };
  }

  /** The CentOS 7 box with the manifest's listed accounts: root, and admin, which the payload lacks. */
  function oldBox(adminUid: number) {
    const box = stageableOldBox();
    writeFileSync(join(box.root, "etc/passwd"), `root:x:0:0:root:/root:/bin/bash\nadmin:x:${adminUid}:${adminUid}:Admin:/home/admin:/bin/bash\n`);
    writeFileSync(join(box.root, "etc/shadow"), "root:$6$x$y:19000:0:99999:7:::\nadmin:$6$a$b:19001:0:99999:7:::\n");
    writeFileSync(join(box.root, "etc/group"), `root:x:0:\nadmin:x:${adminUid}:\n`);
    return box;
  }

  async function stageJson(adminUid: number) {
    const ws = makeWorkspace({ rootfs: payload(DEBIAN_PASSWD) });
    const box = oldBox(adminUid);
    const bundle = await buildTestBundle(ws);
    const { result, stdout } = await captureStdout(() =>
      stageCommand({ bundle, root: box.root, reboot: false, json: true, keyring: ws.keyring, insecure: false, allowDowngrade: false, acceptOpenWindow: false }, box.run, silentLog()),
    );
    return { result, report: JSON.parse(stdout), box };
  }

  test("staged: root keeps the new OS's account with its old hash, admin will be created; both in the report and the JSON", async () => {
    const { result, report } = await stageJson(1000);
    expect(result).toBe(0);
    expect(report.staged).toBe(true);
    const check = report.preflight.checks.find((c: { id: string }) => c.id === "carry-over-accounts");
    expect(check).toMatchObject({ severity: "ok", finding: "password hash carried (the new OS has the account): root; created with their old uid, groups and home: admin" });
    expect(report.carryOver.accounts).toEqual([
      { name: "root", uid: 0, carried: "hash-only", why: [] },
      { name: "admin", uid: 1000, carried: "created", why: [] },
    ]);
    expect(Object.keys(report.carryOver)).toEqual(["network", "management", "dns", "interfaces", "accounts", "mounts", "paths", "warnings"]);
  });

  test("the operator's text report lists the carry-over after the pre-flight findings", async () => {
    const ws = makeWorkspace({ rootfs: payload(DEBIAN_PASSWD) });
    const box = oldBox(1000);
    const bundle = await buildTestBundle(ws);
    const { stdout } = await captureStdout(() =>
      stageCommand({ bundle, root: box.root, reboot: false, json: false, keyring: ws.keyring, insecure: false, allowDowngrade: false, acceptOpenWindow: false }, box.run, silentLog()),
    );
    expect(stdout).toContain("ok [carry-over-accounts] Accounts carried to the new system: password hash carried (the new OS has the account): root; created with their old uid, groups and home: admin\n");
    expect(stdout).toContain("Carry-over (network carried):\n  interfaces:\n    none\n  accounts:\n    root: password hash carried\n    admin: created with uid 1000\n  mounts:\n    none outside the target disk\n");
  });

  test("admin's uid is systemd-network's in the payload: refused at stage by name, nothing staged", async () => {
    const { result, report, box } = await stageJson(998);
    expect(result).not.toBe(0);
    expect(report.staged).toBe(false);
    const check = report.preflight.checks.find((c: { id: string }) => c.id === "carry-over-accounts");
    expect(check.severity).toBe("inhibitor");
    expect(check.finding).toContain("admin: uid 998 is systemd-network's in the new OS");
    expect(report.carryOver.accounts[1]).toEqual({ name: "admin", uid: 998, carried: "not-carried", why: ["uid 998 is systemd-network's in the new OS", "gid 998 is group systemd-network's in the new OS, not admin's"] });
    expect(() => readFileSync(join(box.root, "var/lib/va-agent/staged.json"))).toThrow();
  });
});

describe("stage deferred the archive check (no xz): the tiny system judges the accounts before the point of no return", () => {
  const KVER = "6.12.0-va";
  function xzPayload(passwd: string): Buffer {
    const dir = mkdtempSync(join(tmpdir(), "va-deferred-accounts-"));
    const tar = writeRawTar(join(dir, "root.tar"), [
      { name: "./", type: "directory" },
      { name: `./boot/vmlinuz-${KVER}`, body: Buffer.alloc(4096, 7) },
      { name: `./usr/lib/modules/${KVER}/modules.dep`, body: Buffer.from("\n") },
      { name: "./etc/fstab", body: Buffer.from("/dev/mapper/VA-root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n/dev/mapper/VA-data /data ext4 defaults 0 2\n") },
      { name: "./etc/passwd", body: Buffer.from(passwd) },
      { name: "./etc/group", body: Buffer.from("root:x:0:\nsystemd-network:x:998:\n") },
    ]);
    return Buffer.from(Bun.spawnSync(["xz", "-c", "-0"], { stdin: readFileSync(tar), stdout: "pipe" }).stdout);
  }

  function admin(uid: number): CapturedConfig {
    const account = { name: "admin", passwordHash: "$6$a$b", uid, gid: uid, gecos: "Admin", home: "/home/admin", shell: "/bin/bash", groups: [{ name: "admin", gid: uid, primary: true }], shadowAging: "19001:0:99999:7:::" };
    return { ...config(), interfaces: [], accounts: [account] };
  }

  async function migrateUpToCheck(uid: number) {
    const world = stagedTinySystem(xzPayload("root:x:0:0:root:/root:/bin/bash\nsystemd-network:x:998:998::/:/usr/sbin/nologin\n"), {
      run: new FakeRunner().filtersOn(new ZxRunner(silentLog())),
      archiveCheck: "deferred",
    });
    writeCapturedConfig(join(world.staged, "captured-config.json"), admin(uid));
    const steps = MIGRATION_STEPS.slice(0, MIGRATION_STEPS.indexOf(checkPayloadArchive) + 1);
    const outcome = await runMigration(world.ctx, world.journal(), steps).then(() => "done", (error: Error) => error.message);
    return { outcome, world };
  }

  test("a free uid: the check passes", async () => {
    expect((await migrateUpToCheck(1000)).outcome).toBe("done");
  });

  test("a uid the payload gives to another name: check-payload-archive refuses, naming the account", async () => {
    const { outcome, world } = await migrateUpToCheck(998);
    expect(outcome).toContain("admin: uid 998 is systemd-network's in the new OS");
    expect(world.journal().latest("check-payload-archive")?.outcome).toBe("failed");
  });
});

