import { runAlone } from "./step-hooks.ts";
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { migrationMenuEntry, type OldBootloader } from "../../agent/bootloader/one-time-boot.ts";
import { ManifestError } from "../../agent/errors/errors.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { stagingDirToSearch } from "../../agent/manifest/staging-dir.ts";
import { loadPayload } from "../../agent/steps/load-payload.ts";
import { prepare } from "../../agent/workflow/prepare.ts";
import { STAGING, stagedBundle, tinySystemOnOldAppliance } from "./staged-appliance-fixture.ts";

const oldBootloader: OldBootloader = {
  grubDir: "/boot/grub2",
  rebootTool: "grub2-reboot",
  mkconfigTool: "grub2-mkconfig",
  bootFsUuid: "1111-2222",
  bootIsSeparate: true,
  consoles: ["console=ttyS0"],
};

describe("issue 13 item 12: payload.stagingDir is honoured by the tiny system", () => {
  test("the one-time migration entry tells the tiny system where the manifest's stagingDir is", () => {
    const manifest = parseManifest(stagedBundle().document);
    const entry = migrationMenuEntry(oldBootloader, manifest);
    const linux = entry.split("\n").find((line) => line.trim().startsWith("linux "))!;
    expect(linux.split(" ")).toContain(`va.staging=${STAGING}`);
    expect(stagingDirToSearch(undefined, linux)).toBe(STAGING);
    expect(stagingDirToSearch("/srv/by-hand", linux)).toBe("/srv/by-hand");
    expect(stagingDirToSearch(undefined, "console=ttyS0 va.mode=migrate")).toBe("/etc/upd");
  });

  test("prepare and load-payload read the staged bundle from the manifest's stagingDir in every command and copy", async () => {
    const { paths, run, trust } = tinySystemOnOldAppliance(STAGING);
    const { manifest, plan } = await prepare(run, silentLog(), paths, stagingDirToSearch(undefined, `va.staging=${STAGING}`), trust);
    expect(manifest.payload.stagingDir).toBe(STAGING);
    await runAlone(loadPayload, { manifest, plan, paths, run, log: silentLog() });
    for (const file of ["va.tar.xz", "vmlinuz", "initramfs.img", "va.sgdisk", "manifest.json"]) {
      expect(existsSync(join(paths.payloadDir, file))).toBe(true);
    }
    expect(readFileSync(join(paths.payloadDir, "va.tar.xz"), "utf8")).toBe("pretend rootfs");
    const stagedPaths = run.calls.flat().filter((arg) => arg.includes(paths.oldRootMount) && arg !== paths.oldRootMount);
    expect(stagedPaths.length).toBeGreaterThan(0);
    for (const arg of stagedPaths) expect(arg.startsWith(join(paths.oldRootMount, STAGING))).toBe(true);
    expect(run.calls.flat().some((arg) => arg.includes("/etc/upd"))).toBe(false);
  });

  test("a manifest found somewhere other than where it says it is staged is refused before anything is written", async () => {
    const { paths, run, trust } = tinySystemOnOldAppliance("/etc/upd");
    const refusal = await prepare(run, silentLog(), paths, "/etc/upd", trust).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ManifestError);
    expect((refusal as Error).message).toContain(`says the payload is staged in ${STAGING}`);
    expect(run.calls.some((argv) => ["wipefs", "sgdisk", "pvcreate", "mkfs.ext4"].includes(argv[0]!))).toBe(false);
  });

  test("a stagingDir the kernel command line cannot carry is refused in the manifest", () => {
    for (const bad of ["/opt/my upd", "/opt/'upd'", "/opt/../etc", "/"]) {
      expect(() => parseManifest(stagedBundle(bad).document)).toThrow(/payload\.stagingDir/);
    }
  });
});
