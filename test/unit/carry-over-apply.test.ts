import { commandsOf, runAlone } from "./step-hooks.ts";
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureConfig, stageCapturedConfig } from "../../agent/carry-over/capture-config.ts";
import { type CapturedConfig, parseCapturedConfig, writeCapturedConfig } from "../../agent/carry-over/captured-config.ts";
import { mergePasswordHashes, mergeShadowFile } from "../../agent/carry-over/shadow.ts";
import { detectDistro } from "../../agent/distro/adapter.ts";
import { ManifestError } from "../../agent/errors/errors.ts";
import { createLog, silentLog } from "../../agent/log/logger.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { carryOverConfig } from "../../agent/steps/carry-over-config.ts";
import type { StepContext } from "../../agent/steps/step.ts";
import { FakeRunner } from "./fake-runner.ts";
import { DEBIAN_13 } from "./fixtures/distro.ts";
import { testManifest } from "./fixtures/shapes.ts";

const FIXTURES = join(import.meta.dir, "fixtures/carry-over");
const log = silentLog();
const noLiveState = () => new FakeRunner().respond((argv) => (argv[0] === "ip" ? { stdout: "[]" } : undefined));

function validDocument(): Record<string, unknown> {
  return { format: 2, interfaces: [], dns: { servers: [], search: [] }, accounts: [], mounts: [], paths: [], warnings: [] };
}

function refusal(document: unknown): string {
  try {
    parseCapturedConfig(document, "captured-config.json");
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    return (error as Error).message;
  }
  throw new Error("expected the document to be refused");
}

/** A tiny system in a temp dir: the payload directory and a new Debian root. */
function tinySystem(config?: CapturedConfig) {
  const dir = mkdtempSync(join(tmpdir(), "va-carry-"));
  const paths = defaultPaths(join(dir, "run"), join(dir, "sysimage"));
  mkdirSync(paths.payloadDir, { recursive: true });
  mkdirSync(join(paths.targetRoot, "etc/network"), { recursive: true });
  writeFileSync(join(paths.targetRoot, "etc/os-release"), DEBIAN_13);
  writeFileSync(join(paths.targetRoot, "etc/network/interfaces"), "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n");
  writeFileSync(join(paths.targetRoot, "etc/hosts"), "127.0.0.1\tlocalhost\n127.0.1.1\tdebian13\n");
  writeFileSync(join(paths.targetRoot, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\nadm:x:3:4:adm:/var/adm:/usr/sbin/nologin\n");
  writeFileSync(join(paths.targetRoot, "etc/group"), "root:x:0:\nadm:x:4:\n");
  writeFileSync(join(paths.targetRoot, "etc/shadow"), "root:*:20000:0:99999:7:::\n", { mode: 0o640 });
  writeFileSync(join(paths.targetRoot, "etc/fstab"), "/dev/mapper/VA-root / ext4 defaults 0 1\n");
  if (config) writeCapturedConfig(join(paths.payloadDir, "captured-config.json"), config);
  const run = new FakeRunner();
  const ctx = { manifest: testManifest(), paths, run, log, distro: detectDistro(paths.targetRoot) } as unknown as StepContext;
  return { ctx, run, paths };
}

describe("the captured document", () => {
  test("the schema refuses a malformed document and names the field", () => {
    const badMac = { ...validDocument(), interfaces: [{ name: "eth0", kind: "ethernet", mac: "52-54-00", activation: "boot" }] };
    expect(refusal(badMac)).toContain("interfaces.0.mac: must match pattern");
    expect(refusal({ ...validDocument(), dns: { servers: [] } })).toContain("dns.search: missing, it is required");
    expect(refusal({ ...validDocument(), format: 1 })).toContain("format: must be equal to constant");
    expect(refusal({ ...validDocument(), mounts: [{ spec: "UUID=x", mountPoint: "none", type: "swap", options: "sw", dump: 0, pass: 0, lives: "other-disk" }] })).toContain("mounts.0.mountPoint: must match pattern");
    expect(refusal({ ...validDocument(), extra: true })).toContain('(top level): unknown field "extra"');
  });

  test("stage writes the document 0600 and archives the extra paths with GNU tar", async () => {
    const staging = mkdtempSync(join(tmpdir(), "va-stage-"));
    const run = noLiveState();
    const root = join(FIXTURES, "el7");
    const manifest = { carryOver: { accounts: ["root"], paths: ["/etc/hostname", "/srv/none"], network: false } };
    const staged = await stageCapturedConfig({ root, run, log, manifest, stagingDir: staging });
    expect(statSync(staged.documentPath).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(staged.documentPath, "utf8")).paths).toEqual([{ path: "/etc/hostname", archive: "carry-over-paths.tar" }]);
    expect(run.calls.at(-1)).toEqual([
      "tar",
      "--create",
      `--file=${staging}/.carry-over-paths.tar.va-tmp`, // renamed to carry-over-paths.tar once tar is done
      "--numeric-owner",
      "--acls",
      "--xattrs",
      "--xattrs-include=*",
      `--directory=${root}`,
      "--",
      "etc/hostname",
    ]);
  });
});

describe("shadow merge", () => {
  test("only the hash field of listed accounts changes; other fields and lines stay", () => {
    const shadow = "root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\nadmin:!:20000:0:99999:7:::\n";
    const merged = mergePasswordHashes(shadow, new Map([["root", "$6$a$b"], ["ghost", "$6$c$d"]]));
    expect(merged.text).toBe("root:$6$a$b:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\nadmin:!:20000:0:99999:7:::\n");
    expect(merged.missing).toEqual(["ghost"]);
  });

  test("the file keeps its mode", () => {
    const path = join(mkdtempSync(join(tmpdir(), "va-shadow-")), "shadow");
    writeFileSync(path, "root:*:1:0:99999:7:::\n", { mode: 0o640 });
    mergeShadowFile(path, new Map([["root", "$6$x$y"]]));
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(readFileSync(path, "utf8")).toBe("root:$6$x$y:1:0:99999:7:::\n");
  });
});

/** The old appliance: an operator login the payload lacks, root, a VG on a second disk and an NFS share in its fstab. */
function oldAppliance(): string {
  const root = mkdtempSync(join(tmpdir(), "va-old-appliance-"));
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(join(root, "etc/hostname"), "appliance01.corp.example\n");
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\nadmin:x:1000:1000:Appliance Administrator:/home/admin:/bin/bash\n");
  writeFileSync(join(root, "etc/shadow"), "root:$6$oldsalt$roothash:19000:0:99999:7:::\nadmin:$6$adminsalt$adminhash:19001:0:99999:7:::\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\nadm:x:4:admin\nadmin:x:1000:\n");
  writeFileSync(join(root, "etc/fstab"), "/dev/mapper/centos-root / xfs defaults 0 0\n/dev/mapper/archive-logs /var/log/archive xfs defaults 0 0\nnas01:/export/app /mnt/nas nfs4 rw,hard,_netdev 0 0\n");
  return root;
}

const APPLIANCE_DISKS = {
  targetDisk: "/dev/vda",
  provided: ["/", "/boot", "/data"],
  devices: [
    { path: "/dev/vda", type: "disk" },
    { path: "/dev/vda2", type: "part", parent: "/dev/vda" },
    { path: "/dev/mapper/centos-root", type: "lvm", parent: "/dev/vda2" },
    { path: "/dev/vdb", type: "disk" },
    { path: "/dev/mapper/archive-logs", type: "lvm", parent: "/dev/vdb" },
  ],
};

async function capturedAppliance(): Promise<CapturedConfig> {
  const manifest = { carryOver: { accounts: ["root", "admin"], paths: [], network: false } };
  return captureConfig({ root: oldAppliance(), run: noLiveState(), log, manifest, mountFacts: APPLIANCE_DISKS });
}

function recordingLog(): { log: ReturnType<typeof createLog>; lines: string[] } {
  const lines: string[] = [];
  return { log: createLog({ console: (line) => lines.push(line.replace(/^\[va-agent [0-9:]+\] /, "")) }), lines };
}

describe("the carry-over-config step", () => {
  test("its plan lists enabling systemd-networkd (when the new OS's own style cannot say the network) and the tar restore of the extra paths, its summary every file it writes", () => {
    const { ctx, paths } = tinySystem();
    expect(commandsOf(carryOverConfig, ctx)).toEqual([
      ["chroot", paths.targetRoot, "systemctl", "enable", "systemd-networkd.service"],
      ["tar", "--extract", `--file=${paths.payloadDir}/carry-over-paths.tar`, "--numeric-owner", "--preserve-permissions", "--acls", "--xattrs", "--xattrs-include=*", `--directory=${paths.targetRoot}`],
    ]);
    for (const what of ["passwd/shadow/group/gshadow", "/etc/skel", "/etc/fstab", "mount points"]) expect(carryOverConfig.summary).toContain(what);
  });

  test("without a captured document it changes nothing", async () => {
    const { ctx, run, paths } = tinySystem();
    await runAlone(carryOverConfig, ctx);
    expect(run.calls).toEqual([]);
    expect(readFileSync(join(paths.targetRoot, "etc/hosts"), "utf8")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tdebian13\n");
  });

  test("an account the payload lacks is created, root gets its hash, the second disk and the share are mounted again", async () => {
    const { ctx, paths } = tinySystem(await capturedAppliance());
    const { log: recording, lines } = recordingLog();
    await runAlone(carryOverConfig, { ...ctx, manifest: { ...ctx.manifest, carryOver: { ...ctx.manifest.carryOver, network: false } }, log: recording });
    const etc = (file: string) => readFileSync(join(paths.targetRoot, "etc", file), "utf8");
    expect(etc("passwd")).toBe("root:x:0:0:root:/root:/bin/bash\nadm:x:3:4:adm:/var/adm:/usr/sbin/nologin\nadmin:x:1000:1000:Appliance Administrator:/home/admin:/bin/bash\n");
    expect(etc("shadow")).toBe("root:$6$oldsalt$roothash:20000:0:99999:7:::\nadmin:$6$adminsalt$adminhash:19001:0:99999:7:::\n");
    expect(statSync(join(paths.targetRoot, "etc/shadow")).mode & 0o777).toBe(0o640);
    expect(etc("group")).toBe("root:x:0:\nadm:x:4:admin\nadmin:x:1000:\n");
    expect(statSync(join(paths.targetRoot, "home/admin")).uid).toBe(1000);
    expect(etc("fstab")).toContain("/dev/mapper/archive-logs\t/var/log/archive\txfs\tdefaults,nofail\t0\t0\nnas01:/export/app\t/mnt/nas\tnfs4\trw,hard,_netdev,nofail\t0\t0\n");
    expect(statSync(join(paths.targetRoot, "var/log/archive")).isDirectory()).toBe(true);
    expect(statSync(join(paths.targetRoot, "mnt/nas")).isDirectory()).toBe(true);
    expect(lines).toContain("account admin created with its old uid, groups and password hash");
    expect(lines).toContain("password hash of root carried");
    expect(lines).toContain("mounts carried into /etc/fstab (nofail added where missing): /var/log/archive (/dev/mapper/archive-logs), /mnt/nas (nas01:/export/app)");
  });

  test("run twice (a resume), the new root is the same", async () => {
    const { ctx, paths } = tinySystem(await capturedAppliance());
    await runAlone(carryOverConfig, ctx);
    const files = ["passwd", "shadow", "group", "fstab"];
    const once = files.map((file) => readFileSync(join(paths.targetRoot, "etc", file), "utf8"));
    await runAlone(carryOverConfig, ctx);
    expect(files.map((file) => readFileSync(join(paths.targetRoot, "etc", file), "utf8"))).toEqual(once);
  });

  test("an account whose uid the new root gives to another name is left out, loudly", async () => {
    const config = await capturedAppliance();
    const { ctx, paths } = tinySystem(config);
    writeFileSync(join(paths.targetRoot, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\ndebian:x:1000:1000:Debian:/home/debian:/bin/bash\n");
    const { log: recording, lines } = recordingLog();
    await runAlone(carryOverConfig, { ...ctx, log: recording });
    expect(lines).toContain("WARN: account admin not carried: uid 1000 is debian's in the new OS");
    expect(readFileSync(join(paths.targetRoot, "etc/shadow"), "utf8")).not.toContain("admin:");
  });

  test("extra paths are restored with tar, before the accounts (a carried home is not filled from /etc/skel)", async () => {
    const config = { ...(await capturedAppliance()), paths: [{ path: "/home/admin", archive: "carry-over-paths.tar" as const }] };
    const { ctx, run, paths } = tinySystem(config);
    writeFileSync(join(paths.payloadDir, "carry-over-paths.tar"), "");
    mkdirSync(join(paths.targetRoot, "etc/skel"), { recursive: true });
    writeFileSync(join(paths.targetRoot, "etc/skel/.bashrc"), "# skel\n");
    run.respond((argv) => {
      if (argv[0] === "tar") mkdirSync(join(paths.targetRoot, "home/admin"), { recursive: true });
      return undefined;
    });
    await runAlone(carryOverConfig, ctx);
    // the planned enabling of systemd-networkd is skipped: the new OS's own ifupdown can say this network
    expect(run.calls).toEqual(commandsOf(carryOverConfig, ctx).filter((argv) => argv[0] === "tar"));
    expect(() => statSync(join(paths.targetRoot, "home/admin/.bashrc"))).toThrow();
  });

  test("a document listing paths without their archive stops with a payload error", async () => {
    const captured = { ...parseCapturedConfig(validDocument()), paths: [{ path: "/srv/appdata", archive: "carry-over-paths.tar" as const }] };
    const { ctx } = tinySystem(captured);
    await expect(runAlone(carryOverConfig, ctx)).rejects.toThrow("carry-over-paths.tar is missing");
  });

  test("the network log line names each interface by name and MAC", async () => {
    const config = {
      ...parseCapturedConfig(validDocument()),
      interfaces: [{ name: "eth0", kind: "ethernet" as const, mac: "52:54:00:cc:00:01", activation: "boot" as const, ipv4: { dhcp: false, addresses: [{ address: "192.0.2.10", prefix: 24 }], routes: [] } }],
    };
    const { ctx } = tinySystem(config);
    const { log: recording, lines } = recordingLog();
    await runAlone(carryOverConfig, { ...ctx, log: recording });
    expect(lines).toContain("network carried as ifupdown: eth0 (52:54:00:cc:00:01)");
  });
});
