import { commandsOf, runAlone } from "./step-hooks.ts";
import { describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureConfig, stageCapturedConfig } from "../../agent/carry-over/capture-config.ts";
import { type CapturedConfig, parseCapturedConfig, writeCapturedConfig } from "../../agent/carry-over/captured-config.ts";
import { mergePasswordHashes, mergeShadowFile } from "../../agent/carry-over/shadow.ts";
import { detectDistro } from "../../agent/distro/adapter.ts";
import { ManifestError } from "../../agent/errors/errors.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { defaultPaths } from "../../agent/paths.ts";
import { carryOverConfig } from "../../agent/steps/carry-over-config.ts";
import type { StepContext } from "../../agent/steps/step.ts";
import { FakeRunner } from "./fake-runner.ts";
import { DEBIAN_13, ROCKY_9 } from "./fixtures/distro.ts";
import { testManifest } from "./fixtures/shapes.ts";

const FIXTURES = join(import.meta.dir, "fixtures/carry-over");
const log = silentLog();
const noLiveState = () => new FakeRunner().respond((argv) => (argv[0] === "ip" ? { stdout: "[]" } : undefined));

function validDocument(): Record<string, unknown> {
  return { format: 1, interfaces: [], dns: { servers: [], search: [] }, accounts: [], paths: [], warnings: [] };
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
  writeFileSync(join(paths.targetRoot, "etc/shadow"), "root:*:20000:0:99999:7:::\nadmin:!:20000:0:99999:7:::\n", { mode: 0o640 });
  if (config) writeCapturedConfig(join(paths.payloadDir, "captured-config.json"), config);
  const run = new FakeRunner();
  const ctx = { manifest: testManifest(), paths, run, log, distro: detectDistro(paths.targetRoot) } as unknown as StepContext;
  return { ctx, run, paths };
}

describe("the captured document", () => {
  test("the schema refuses a malformed document and names the field", () => {
    const badMac = { ...validDocument(), interfaces: [{ mac: "52-54-00", oldName: "eth0", method: "static", addresses: [], routes: [] }] };
    expect(refusal(badMac)).toContain("interfaces.0.mac: must match pattern");
    expect(refusal({ ...validDocument(), dns: { servers: [] } })).toContain("dns.search: missing, it is required");
    expect(refusal({ ...validDocument(), format: 2 })).toContain("format: must be equal to constant");
    expect(refusal({ ...validDocument(), extra: true })).toContain('(top level): unknown field "extra"');
  });

  test("stage writes the document 0600 and archives the extra paths with GNU tar", async () => {
    const staging = mkdtempSync(join(tmpdir(), "va-stage-"));
    const run = noLiveState();
    const root = join(FIXTURES, "el7");
    const manifest = { carryOver: { accounts: ["root"], paths: ["/etc/hostname", "/srv/none"], network: true } };
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

describe("the carry-over-config step", () => {
  test("its plan lists the tar restore of the extra paths", () => {
    const { ctx, paths } = tinySystem();
    expect(commandsOf(carryOverConfig, ctx)).toEqual([
      ["tar", "--extract", `--file=${paths.payloadDir}/carry-over-paths.tar`, "--numeric-owner", "--preserve-permissions", "--acls", "--xattrs", "--xattrs-include=*", `--directory=${paths.targetRoot}`],
    ]);
  });

  test("without a captured document it changes nothing", async () => {
    const { ctx, run, paths } = tinySystem();
    await runAlone(carryOverConfig, ctx);
    expect(run.calls).toEqual([]);
    expect(readFileSync(join(paths.targetRoot, "etc/hosts"), "utf8")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tdebian13\n");
  });

  test("round trip: capture ifupdown → render in the new root → capture again gives the same network", async () => {
    const old = join(FIXTURES, "ifupdown");
    const manifest = { carryOver: { accounts: [], paths: [], network: true } };
    const captured = await captureConfig({ root: old, run: noLiveState(), log, manifest });
    const { ctx, paths } = tinySystem(captured);
    await runAlone(carryOverConfig, ctx);
    cpSync(join(old, "sys"), join(paths.targetRoot, "sys"), { recursive: true });
    const again = await captureConfig({ root: paths.targetRoot, run: noLiveState(), log, manifest });
    expect(again.interfaces).toEqual(captured.interfaces);
    expect(again.dns).toEqual(captured.dns);
    expect(again.hostname).toBe("debian-box");
    expect(readFileSync(join(paths.targetRoot, "etc/systemd/network/10-va-eth0.link"), "utf8")).toBe("[Match]\nMACAddress=52:54:00:cc:00:01\n\n[Link]\nName=eth0\n");
    expect(readFileSync(join(paths.targetRoot, "etc/resolv.conf"), "utf8")).toContain("nameserver 192.168.122.1\n");
    expect(readFileSync(join(paths.targetRoot, "etc/hosts"), "utf8")).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tdebian-box\n");
  });

  test("hashes of the listed accounts merged, extra paths restored with tar", async () => {
    const captured = await captureConfig({
      root: join(FIXTURES, "el7"),
      run: noLiveState(),
      log,
      manifest: { carryOver: { accounts: ["root", "admin"], paths: ["/etc/hostname"], network: false } },
    });
    const { ctx, run, paths } = tinySystem(captured);
    writeFileSync(join(paths.payloadDir, "carry-over-paths.tar"), "");
    await runAlone(carryOverConfig, ctx);
    expect(readFileSync(join(paths.targetRoot, "etc/shadow"), "utf8")).toBe(
      "root:$6$oldsalt$roothashroothash:20000:0:99999:7:::\nadmin:$6$adminsalt$adminhashadminhash:20000:0:99999:7:::\n",
    );
    expect(statSync(join(paths.targetRoot, "etc/shadow")).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(paths.targetRoot, "etc/hostname"), "utf8")).toBe("appliance01.corp.example\n");
    expect(run.calls).toEqual(commandsOf(carryOverConfig, ctx));
  });

  test("a document listing paths without their archive stops with a payload error", async () => {
    const captured = { ...parseCapturedConfig(validDocument()), paths: [{ path: "/srv/appdata", archive: "carry-over-paths.tar" as const }] };
    const { ctx } = tinySystem(captured);
    await expect(runAlone(carryOverConfig, ctx)).rejects.toThrow("carry-over-paths.tar is missing");
  });

  test("an EL9 target gets 0600 NetworkManager keyfiles and keeps NetworkManager's own resolv.conf", async () => {
    const captured = await captureConfig({ root: join(FIXTURES, "nm"), run: noLiveState(), log, manifest: { carryOver: { accounts: [], paths: [], network: true } } });
    const { ctx, paths } = tinySystem(captured);
    writeFileSync(join(paths.targetRoot, "etc/os-release"), ROCKY_9);
    await runAlone(carryOverConfig, { ...ctx, distro: detectDistro(paths.targetRoot) });
    const keyfile = join(paths.targetRoot, "etc/NetworkManager/system-connections/va-ens3.nmconnection");
    expect(statSync(keyfile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyfile, "utf8")).toContain("[ethernet]\nmac-address=52:54:00:BB:00:01\nmtu=1400\n");
    expect(readFileSync(keyfile, "utf8")).not.toContain("interface-name");
    expect(() => statSync(join(paths.targetRoot, "etc/resolv.conf"))).toThrow();
  });
});
