import { afterEach, describe, expect, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createHash } from "node:crypto";
import { stageCapturedConfig } from "../../agent/carry-over/capture-config.ts";
import { CARRY_OVER_ARCHIVE_FILE } from "../../agent/carry-over/captured-config.ts";
import { writeRenderedFile } from "../../agent/carry-over/rendered-file.ts";
import { mergeShadowFile } from "../../agent/carry-over/shadow.ts";
import { writeFileAtomically } from "../../agent/disk/write-file-atomically.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { CAPTURED_CONFIG_FILE } from "../../agent/paths.ts";
import { copyVerified, RESTAGE_REMEDY } from "../../agent/payload/copy-verified.ts";
import { FakeRunner } from "./fake-runner.ts";

const FIXTURES = join(import.meta.dir, "fixtures/carry-over");
const spies: Array<{ mockRestore(): void }> = [];
afterEach(() => {
  while (spies.length > 0) spies.pop()!.mockRestore();
});

function scratch(): string {
  return fs.mkdtempSync(join(tmpdir(), "va-atomic-"));
}

function modeOf(path: string): number {
  return fs.statSync(path).mode & 0o7777;
}

/** The mode of every file at the moment content is written into it, whatever API writes it. */
function modesAtWrite(): Array<{ file: string; mode: number }> {
  const seen: Array<{ file: string; mode: number }> = [];
  const realWriteSync = fs.writeSync;
  const realWriteFileSync = fs.writeFileSync;
  const realCreateWriteStream = fs.createWriteStream;
  spies.push(
    spyOn(fs, "writeSync").mockImplementation(((fd: number, ...rest: unknown[]) => {
      seen.push({ file: fs.readlinkSync(`/proc/self/fd/${fd}`), mode: fs.fstatSync(fd).mode & 0o7777 });
      return (realWriteSync as (...args: unknown[]) => number)(fd, ...rest);
    }) as typeof fs.writeSync),
    spyOn(fs, "writeFileSync").mockImplementation(((file: string, ...rest: unknown[]) => {
      (realWriteFileSync as (...args: unknown[]) => void)(file, ...rest);
      seen.push({ file, mode: modeOf(file) });
    }) as typeof fs.writeFileSync),
    spyOn(fs, "createWriteStream").mockImplementation(((file: string, ...rest: unknown[]) => {
      const stream = (realCreateWriteStream as (...args: unknown[]) => fs.WriteStream)(file, ...rest);
      const atOpen = (fd: number) => seen.push({ file: fs.readlinkSync(`/proc/self/fd/${fd}`), mode: fs.fstatSync(fd).mode & 0o7777 });
      const givenFd = (rest[0] as { fd?: number } | undefined)?.fd;
      if (typeof givenFd === "number") atOpen(givenFd);
      else stream.once("open", atOpen);
      return stream;
    }) as typeof fs.createWriteStream),
  );
  return seen;
}

function powerCutAtFirstWrite(): void {
  const cut = () => {
    throw new Error("power cut");
  };
  const realWriteFileSync = fs.writeFileSync;
  spies.push(
    spyOn(fs, "writeSync").mockImplementation(cut as typeof fs.writeSync),
    // what an in-place rewrite has done when the power goes: the file is opened with O_TRUNC
    spyOn(fs, "writeFileSync").mockImplementation(((file: string) => {
      realWriteFileSync(file, "");
      cut();
    }) as typeof fs.writeFileSync),
  );
}

function powerCutBeforeRename(): void {
  spies.push(
    spyOn(fs, "renameSync").mockImplementation(() => {
      throw new Error("power cut");
    }),
  );
}

function restoreSpies(): void {
  while (spies.length > 0) spies.pop()!.mockRestore();
}

describe("issue 13 item 11: secrets and system files are written atomically with their final mode", () => {
  test("the helper creates the file with the mode asked for, never wider, even under umask 0", () => {
    const path = join(scratch(), "secret");
    const umask = process.umask(0);
    try {
      const seen = modesAtWrite();
      writeFileAtomically(path, "hash", { mode: 0o600 });
      restoreSpies();
      expect(seen.length).toBeGreaterThan(0);
      for (const write of seen) expect(write.mode).toBe(0o600);
    } finally {
      process.umask(umask);
    }
    expect(modeOf(path)).toBe(0o600);
    expect(fs.readFileSync(path, "utf8")).toBe("hash");
  });

  test("a power cut between write and rename leaves the old file intact; a re-run replaces it and its stale temp", () => {
    const dir = scratch();
    const path = join(dir, "interfaces");
    fs.writeFileSync(path, "old\n");
    powerCutBeforeRename();
    expect(() => writeFileAtomically(path, "new\n", { mode: 0o644 })).toThrow("power cut");
    restoreSpies();
    expect(fs.readFileSync(path, "utf8")).toBe("old\n");
    writeFileAtomically(path, "new\n", { mode: 0o644 });
    expect(fs.readFileSync(path, "utf8")).toBe("new\n");
    expect(fs.readdirSync(dir)).toEqual(["interfaces"]);
  });

  test("a power cut while the shadow file is rewritten leaves it whole, and a re-run does not merge into a truncated one", () => {
    const path = join(scratch(), "shadow");
    const shadow = "root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\nadmin:!:20000:0:99999:7:::\n";
    fs.writeFileSync(path, shadow, { mode: 0o640 });
    fs.chownSync(path, 0, 42);
    const hashes = new Map([["root", "$6$a$b"]]);
    powerCutAtFirstWrite();
    expect(() => mergeShadowFile(path, hashes)).toThrow("power cut");
    restoreSpies();
    expect(fs.readFileSync(path, "utf8")).toBe(shadow);
    const seen = modesAtWrite();
    mergeShadowFile(path, hashes);
    restoreSpies();
    expect(fs.readFileSync(path, "utf8")).toBe(shadow.replace("root:*:", "root:$6$a$b:"));
    expect(seen.every((write) => write.mode === 0o640)).toBe(true);
    expect(modeOf(path)).toBe(0o640);
    expect(fs.statSync(path).gid).toBe(42);
  });

  test("a rendered file replacing a wider one is never written with the old mode", () => {
    const root = scratch();
    fs.mkdirSync(join(root, "etc/NetworkManager/system-connections"), { recursive: true });
    const file = "/etc/NetworkManager/system-connections/eth0.nmconnection";
    fs.writeFileSync(join(root, file), "old\n", { mode: 0o644 });
    const seen = modesAtWrite();
    writeRenderedFile(root, { path: file, content: "[connection]\n", mode: 0o600 });
    restoreSpies();
    expect(seen.length).toBeGreaterThan(0);
    for (const write of seen) expect(write.mode).toBe(0o600);
  });

  test("stage creates the carry-over archive and the captured document never readable by others", async () => {
    const staging = scratch();
    const archive = join(staging, CARRY_OVER_ARCHIVE_FILE);
    const modesWhenTarRuns: number[] = [];
    const run = new FakeRunner().respond((argv) => {
      if (argv[0] === "ip") return { stdout: "[]" };
      if (argv[0] !== "tar") return undefined;
      const target = argv.find((arg) => arg.startsWith("--file="))!.slice("--file=".length);
      modesWhenTarRuns.push(fs.existsSync(target) ? modeOf(target) : -1);
      fs.writeFileSync(target, "tar bytes"); // as GNU tar does: it opens the existing file, keeping its mode
      return undefined;
    });
    const seen = modesAtWrite();
    const manifest = { carryOver: { accounts: ["root"], paths: ["/etc/hostname"], network: true } };
    const staged = await stageCapturedConfig({ root: join(FIXTURES, "el7"), run, log: silentLog(), manifest, stagingDir: staging });
    restoreSpies();
    expect(modesWhenTarRuns).toEqual([0o600]);
    expect(staged.archivePath).toBe(archive);
    expect(fs.readFileSync(archive, "utf8")).toBe("tar bytes");
    expect(modeOf(archive)).toBe(0o600);
    const documentWrites = seen.filter((write) => basename(write.file).includes(CAPTURED_CONFIG_FILE));
    expect(documentWrites.length).toBeGreaterThan(0);
    for (const write of documentWrites) expect(write.mode).toBe(0o600);
    expect(fs.readdirSync(staging).sort()).toEqual([CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE].sort());
  });

  test("copies of the captured document and the archive (RAM, resume store) are 0600 from creation; the rootfs stays 0644", async () => {
    const dir = scratch();
    for (const [name, mode] of [[CAPTURED_CONFIG_FILE, 0o600], [CARRY_OVER_ARCHIVE_FILE, 0o600], ["va.tar.zst", 0o644]] as const) {
      const source = join(dir, `source-${name}`);
      fs.writeFileSync(source, `content of ${name}`);
      const ref = { file: name, bytes: fs.statSync(source).size, sha256: createHash("sha256").update(`content of ${name}`).digest("hex") };
      fs.mkdirSync(join(dir, "store"), { recursive: true });
      const destination = join(dir, "store", name);
      const seen = modesAtWrite();
      await copyVerified(source, destination, ref, RESTAGE_REMEDY);
      restoreSpies();
      expect(seen.length).toBeGreaterThan(0);
      for (const write of seen) expect(write.mode).toBe(mode);
      expect(modeOf(destination)).toBe(mode);
    }
  });
});
