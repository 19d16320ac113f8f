import { runAlone } from "./step-hooks.ts";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExitCode, PreflightError, SignatureError, type VaError } from "../../agent/errors/errors.ts";
import { silentLog } from "../../agent/log/logger.ts";
import { parseManifest } from "../../agent/manifest/manifest.ts";
import { stagedTrustArgs, stagedTrustOf } from "../../agent/manifest/staged-trust.ts";
import { PLAN_FILE, defaultPaths } from "../../agent/paths.ts";
import { compareReleases } from "../../agent/product/release.ts";
import { INSTALLED_PRODUCT_FILE, readInstalledProduct } from "../../agent/product/installed-product.ts";
import { recordResult } from "../../agent/steps/record-result.ts";
import type { StepContext } from "../../agent/steps/step.ts";
import { prepare } from "../../agent/workflow/prepare.ts";
import { captureLog } from "./bundle-fixture.ts";
import { STAGING, stagedBundle, tinySystemOnOldAppliance, type StagedAs } from "./staged-appliance-fixture.ts";

const WRITES = /^(wipefs|sgdisk|pvcreate|vgcreate|lvcreate|vgremove|mkfs(\..*)?|tune2fs|xfs_admin|grub2?-(reboot|mkconfig|install|editenv)|dracut|tar)$/;

async function refusedInPrepare(as: StagedAs, trust: Partial<ReturnType<typeof tinySystemOnOldAppliance>["trust"]> = {}, tamper?: (dir: string) => void) {
  const world = tinySystemOnOldAppliance(STAGING, stagedBundle(), as);
  for (const dir of world.stagedDirs) tamper?.(dir);
  const error = await prepare(world.run, silentLog(), world.paths, STAGING, { ...world.trust, ...trust }).then(
    () => undefined,
    (e: unknown) => e as VaError,
  );
  if (!error) throw new Error("expected prepare to refuse");
  // Before any write: no disk command, nothing copied to RAM, no plan saved.
  expect(world.run.calls.filter((argv) => WRITES.test(argv[0]!))).toEqual([]);
  expect(existsSync(join(world.paths.payloadDir, "manifest.json"))).toBe(false);
  expect(existsSync(join(world.paths.workDir, PLAN_FILE))).toBe(false);
  return error;
}

describe("issue 13 item 9: release order", () => {
  test("dotted numeric parts compare as numbers: 13.0 < 13.1 < 13.2 < 13.10 < 14", () => {
    const ordered = ["9.9", "13", "13.0", "13.1", "13.2", "13.10", "13.10.1", "14"];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) expect(Math.sign(compareReleases(ordered[i]!, ordered[j]!))).toBe(Math.sign(i - j));
    }
  });

  test("a part that is not digits only compares as text; numbers far beyond 2^53 still compare exactly", () => {
    expect(compareReleases("13.1-rc1", "13.1-rc2")).toBeLessThan(0);
    expect(compareReleases("13.1", "13.rc1")).toBeLessThan(0);
    expect(compareReleases("13.b", "13.a")).toBeGreaterThan(0);
    expect(compareReleases("13.a", "13.a")).toBe(0);
    expect(compareReleases("1.90071992547409931", "1.90071992547409930")).toBeGreaterThan(0);
  });
});

describe("issue 13 item 9: the tiny system verifies the staged manifest before using it", () => {
  test("the vendor-signed staged manifest is accepted, and the copy in RAM is the verified bytes", async () => {
    const world = tinySystemOnOldAppliance(STAGING);
    const { log, lines } = captureLog();
    const prepared = await prepare(world.run, log, world.paths, STAGING, world.trust);
    expect(prepared.manifest.payload.stagingDir).toBe(STAGING);
    expect(lines.some((line) => line.includes(`staged manifest signed by key ${world.vendor.keyId}`))).toBe(true);
    expect(readFileSync(join(world.paths.payloadDir, "manifest.json"))).toEqual(readFileSync(join(world.stagedDirs[1]!, "manifest.json")));
  });

  test("a staged manifest edited after stage is refused in prepare (exit 13) before any write", async () => {
    const error = await refusedInPrepare({}, {}, (dir) => {
      const path = join(dir, "manifest.json");
      writeFileSync(path, readFileSync(path, "utf8").replace('"release":"13.0"', '"release":"13.9"'));
    });
    expect(error).toBeInstanceOf(SignatureError);
    expect(error.exitCode).toBe(ExitCode.signature);
    expect(error.message).toContain("matches none of the 1 trusted key(s)");
    expect(error.message).toContain("(checked by the tiny system)");
    expect(error.hint).toContain("changed after `stage` verified it");
    expect(error.hint).toContain("va-agent stage --undo");
  });

  test("a staged manifest without manifest.json.sig is refused (exit 13)", async () => {
    const error = await refusedInPrepare({ signedBy: "nobody" });
    expect(error).toBeInstanceOf(SignatureError);
    expect(error.message).toContain(`the staged manifest in `);
    expect(error.message).toContain("there is no manifest.json.sig beside manifest.json");
  });

  test("a staged manifest signed by a key the tiny system does not trust is refused (exit 13)", async () => {
    const error = await refusedInPrepare({ signedBy: "other" });
    expect(error).toBeInstanceOf(SignatureError);
    expect(error.message).toContain("matches none of the 1 trusted key(s)");
  });

  test("stage accepted it with --insecure (va.insecure on the entry): the tiny system goes on, warning between bars", async () => {
    const world = tinySystemOnOldAppliance(STAGING, stagedBundle(), { signedBy: "nobody" });
    const { log, lines } = captureLog();
    await prepare(world.run, log, world.paths, STAGING, stagedTrustOf(`console=ttyS0 va.staging=${STAGING} va.insecure`, { keyring: world.trust.keyring }));
    const shouted = lines.findIndex((line) => line.includes("INSECURE: the bundle's signature was NOT verified"));
    expect(shouted).toBeGreaterThan(0);
    expect(lines[shouted]).toContain("va.insecure on the kernel command line");
    expect(lines[shouted - 1]).toContain("!".repeat(72));
    expect(lines[shouted + 1]).toContain("!".repeat(72));
  });
});

describe("issue 13 item 9: the tiny system re-checks product and release by the rule stage used", () => {
  const installed = (name: string, release: string) => JSON.stringify({ product: { name, release } });

  test("another product's bundle is refused (exit 5) before any write", async () => {
    const error = await refusedInPrepare({ installed: installed("other-appliance", "2.0") });
    expect(error).toBeInstanceOf(PreflightError);
    expect(error.exitCode).toBe(ExitCode.preflight);
    expect(error.message).toBe("pre-flight found 1 inhibitor(s): product-release: the bundle is for va; this appliance is other-appliance 2.0 (/etc/va-agent/installed.json)");
  });

  test("an older release is refused (exit 5); the downgrade stage allowed (va.allow-downgrade) goes on", async () => {
    const error = await refusedInPrepare({ installed: installed("va", "13.10") });
    expect(error).toBeInstanceOf(PreflightError);
    expect(error.message).toContain("the bundle's release 13.0 is older than the installed va 13.10: a downgrade");
    expect(error.hint).toContain("--allow-downgrade");

    const world = tinySystemOnOldAppliance(STAGING, stagedBundle(), { installed: installed("va", "13.10") });
    const prepared = await prepare(world.run, silentLog(), world.paths, STAGING, stagedTrustOf("va.allow-downgrade", { keyring: world.trust.keyring }));
    expect(prepared.resumed).toBe(false);
  });

  test("an unreadable record is refused (exit 5), never taken for no record", async () => {
    const error = await refusedInPrepare({ installed: "{ not json" });
    expect(error).toBeInstanceOf(PreflightError);
    expect(error.message).toContain("/etc/va-agent/installed.json cannot be read: it is not JSON");
  });
});

describe("issue 13 item 9: the operator's decisions at stage reach the tiny system on the migration entry", () => {
  test("va.insecure and va.allow-downgrade only when chosen; flags given by hand add to them", () => {
    expect(stagedTrustArgs({ insecure: false, allowDowngrade: false })).toEqual([]);
    expect(stagedTrustArgs({ insecure: true, allowDowngrade: true })).toEqual(["va.insecure", "va.allow-downgrade"]);
    expect(stagedTrustOf("console=ttyS0 va.staging=/etc/upd")).toEqual({ keyring: "/etc/va-agent/keys", insecure: false, allowDowngrade: false });
    expect(stagedTrustOf("va.insecure va.allow-downgrade")).toMatchObject({ insecure: true, allowDowngrade: true });
    expect(stagedTrustOf("", { keyring: "/k", allowDowngrade: true })).toEqual({ keyring: "/k", insecure: false, allowDowngrade: true });
    // a look-alike argument is not the decision
    expect(stagedTrustOf("va.insecure=0 xva.allow-downgrade")).toMatchObject({ insecure: false, allowDowngrade: false });
  });
});

describe("issue 13 item 9: the new system records its product and release for the next stage", () => {
  test("record-result writes /etc/va-agent/installed.json, which the product check reads back", async () => {
    const targetRoot = mkdtempSync(join(tmpdir(), "va-new-root-"));
    const manifest = parseManifest(stagedBundle().document);
    const ctx = {
      manifest,
      plan: { oldSystem: { root: { osRelease: { PRETTY_NAME: "CentOS Linux 7 (Core)" } } }, disk: { path: "/dev/vda" } },
      paths: defaultPaths(join(targetRoot, "run"), targetRoot),
      log: silentLog(),
    } as unknown as StepContext;
    await runAlone(recordResult, ctx);
    expect(JSON.parse(readFileSync(join(targetRoot, INSTALLED_PRODUCT_FILE), "utf8")).product).toEqual({ name: "va", release: "13.0" });
    expect(readInstalledProduct(targetRoot)).toEqual({ found: "record", product: { name: "va", release: "13.0" } });
  });
});
