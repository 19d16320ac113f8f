// End-to-end runner: builds (or reuses) every asset, stages the payload on the old appliance,
// migrates each disk variant in QEMU and checks the new system from inside.
//
//   bun test/e2e/run-e2e.ts              the CI set: the click path on the managed-network box (bond +
//                                        VLAN + IPv6, three NICs, a second disk; virtio 3x, zstd), NVMe
//                                        equal-size disk (xz), the negative click-path scenarios, and the
//                                        resume on a two-disk box whose disks swap places after a power cut
//   bun test/e2e/run-e2e.ts --all        every scenario, and every bus × {equal, 3x}
//   bun test/e2e/run-e2e.ts --variant virtio-3x [--variant …]
//   bun test/e2e/run-e2e.ts --demo       one variant, narrated (the README's main job)
//   bun test/e2e/run-e2e.ts --sabotage skip-uuid-fix --variant virtio-equal
//                                        a deliberately broken agent: the run must FAIL
//
// Artifacts (serial logs of every VM, disks) go to $VA_ARTIFACTS or ./artifacts/e2e-<time>.

import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildNewOs } from "../assets/new-os.ts";
import { buildOldAppliance } from "../assets/old-appliance.ts";
import { type PayloadCompression, signStagedPayload, writeTestPayload } from "./payload.ts";
import { failure, planInTinySystem, runScenario, type ScenarioResult, stagePayload, type Timing, type Variant } from "./scenario.ts";
import { killAllVms } from "./qemu.ts";
import { resumeOnSwappedDisks } from "./disk-swap.ts";
import { buildTinySystem, vendorKeys } from "./tiny-system.ts";
import { compileSabotagedAgent } from "./sabotage.ts";
import { buildSignedBundle, clickPath, CORRUPT_PAYLOAD, failureBeforeNoReturnHandsBack, TAMPERED_MANIFEST, tamperedBundleRefused } from "./click-path.ts";
import { slotsLifecycle, slotsPowerCut } from "./slots-lifecycle.ts";
import { rescueLifecycle } from "./rescue-lifecycle.ts";
import { TEST_CARRY_OVER } from "../unit/fixtures/shapes.ts";

const ALL: Variant[] = [
  { name: "virtio-3x", bus: "virtio", sizeFactor: 3, compression: "xz" },
  { name: "nvme-equal", bus: "nvme", sizeFactor: 1, compression: "xz" },
  { name: "virtio-equal", bus: "virtio", sizeFactor: 1, compression: "zstd" },
  { name: "sata-3x", bus: "sata", sizeFactor: 3, compression: "zstd" },
  { name: "sata-equal", bus: "sata", sizeFactor: 1, compression: "xz" },
  { name: "nvme-3x", bus: "nvme", sizeFactor: 3, compression: "zstd" },
];
/** The click path (managed-network box) runs on a virtio disk 3x the layout; with nvme-equal, CI covers both buses, both sizes, both compressions. The plain click path is the demo's. */
const CI_SET = ["click-path-managed-network", "nvme-equal", "stage-refuses-flipped-byte", "tiny-fails-before-no-return", "tiny-refuses-tampered-manifest", "resume-disks-swapped"];
const CLICK_SCENARIOS = ["click-path", "click-path-managed-network", "stage-refuses-flipped-byte", "tiny-fails-before-no-return", "tiny-refuses-tampered-manifest", "slots-lifecycle", "slots-power-cut", "rescue-lifecycle"];
/** Scenarios on the directly staged disk that are not a plain variant. */
const STAGED_SCENARIOS = ["resume-disks-swapped"];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { all: { type: "boolean" }, demo: { type: "boolean" }, variant: { type: "string", multiple: true }, sabotage: { type: "string" } },
  });
  const wanted = values.all ? [...CLICK_SCENARIOS, ...STAGED_SCENARIOS, ...ALL.map((v) => v.name)] : (values.variant ?? (values.demo ? ["click-path"] : CI_SET));
  const clickScenarios = wanted.filter((name) => CLICK_SCENARIOS.includes(name));
  const stagedScenarios = wanted.filter((name) => STAGED_SCENARIOS.includes(name));
  const variants = wanted.filter((name) => !CLICK_SCENARIOS.includes(name) && !STAGED_SCENARIOS.includes(name)).map((name) => {
    const variant = ALL.find((v) => v.name === name);
    if (!variant) throw new Error(`unknown variant ${name}; known: ${[...CLICK_SCENARIOS, ...STAGED_SCENARIOS, ...ALL.map((v) => v.name)].join(", ")}`);
    return variant;
  });
  const artifacts = resolve(process.env.VA_ARTIFACTS ?? join("artifacts", `e2e-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  mkdirSync(artifacts, { recursive: true });
  const say = (line: string) => console.log(`[e2e] ${line}`);

  const assetsStart = performance.now();
  say("building or reusing assets (cache: $VA_CACHE or /var/cache/va-agent-test)");
  const newOs = await buildNewOs();
  const old = await buildOldAppliance();
  const assetSeconds = (performance.now() - assetsStart) / 1000;
  say(`assets ready in ${assetSeconds.toFixed(0)} s`);
  if (values.sabotage) say(`SABOTAGE ${values.sabotage}: the agent under test is deliberately broken; this run must FAIL`);
  const keys = vendorKeys(join(artifacts, "vendor-keys"));
  const tiny = buildTinySystem(newOs, join(artifacts, "tiny"), keys, values.sabotage ? compileSabotagedAgent(values.sabotage) : undefined);
  say(`agent and tiny system built in ${tiny.seconds.toFixed(0)} s`);
  const stagedDisks = new Map<PayloadCompression, { disk: string; timings: Timing[] }>();
  const stagedWith = async (compression: PayloadCompression) => {
    if (!stagedDisks.has(compression)) {
      say(`staging the ${compression} payload on the old appliance (its own boot through SeaBIOS and GRUB)`);
      const dir = join(artifacts, `staged-${compression}`);
      mkdirSync(dir, { recursive: true });
      stagedDisks.set(compression, await stagePayload(old, signStagedPayload(writeTestPayload(newOs, dir, compression), keys.privateKey), dir));
    }
    return stagedDisks.get(compression)!;
  };
  const staged = await stagedWith(variants[0]?.compression ?? "zstd");

  const results: ScenarioResult[] = [];
  const reruns: string[] = [];
  const scenario = async (name: string, attempt: () => Promise<ScenarioResult>, shared: Timing[]) => {
    const result = await withOneRerunOnFlake(name, attempt, (note) => {
      reruns.push(note);
      say(note);
    });
    results.push(result);
    printResult(result, shared);
    if (ok(result)) dropDiskImages(join(artifacts, result.variant.name));
  };
  const planVariant: Variant = { name: "tiny-plan", bus: "virtio", sizeFactor: 1, compression: variants[0]?.compression ?? "zstd" };
  say("tiny system in plan mode against the staged disk (no writes)");
  await scenario("tiny-plan", async () => {
    try {
      return { variant: planVariant, ...(await planInTinySystem(staged.disk, tiny, artifacts)) };
    } catch (error) {
      return { variant: planVariant, checks: [], timings: [], ...failure(error) };
    }
  }, []);

  if (clickScenarios.length > 0) {
    say("vendor side: signed bundle (build.ts bundle, with the key the tiny system trusts)");
    const signed = buildSignedBundle(newOs, tiny, join(artifacts, "vendor"));
    const shared = { newOs, old, tiny, signed, artifacts };
    const managedBundle = () => buildSignedBundle(newOs, tiny, join(artifacts, "vendor-managed"), { accounts: [...TEST_CARRY_OVER.accounts, "operator"] });
    const run = { "click-path": () => clickPath({ ...shared, sizeFactor: 3 }), "click-path-managed-network": () => clickPath({ ...shared, signed: managedBundle(), sizeFactor: 3, box: "managed-network" }), "stage-refuses-flipped-byte": () => tamperedBundleRefused(shared), "tiny-fails-before-no-return": () => failureBeforeNoReturnHandsBack(shared, CORRUPT_PAYLOAD), "tiny-refuses-tampered-manifest": () => failureBeforeNoReturnHandsBack(shared, TAMPERED_MANIFEST), "slots-lifecycle": () => slotsLifecycle(shared), "slots-power-cut": () => slotsPowerCut(shared), "rescue-lifecycle": () => rescueLifecycle(shared) } as Record<string, () => Promise<ScenarioResult>>;
    for (const name of clickScenarios) {
      say(`scenario ${name}`);
      await scenario(name, run[name]!, [{ phase: "assets (build or cache)", seconds: assetSeconds }]);
    }
  }
  for (const variant of variants) {
    say(`variant ${variant.name}: tiny system migrates a ${variant.bus} disk ${variant.sizeFactor}x the layout (${variant.compression} payload)`);
    const stagedForVariant = await stagedWith(variant.compression);
    await scenario(variant.name, () => runScenario(variant, { newOs, old, stagedDisk: stagedForVariant.disk, tiny, artifacts }), [
      { phase: "assets (build or cache)", seconds: assetSeconds },
      ...stagedForVariant.timings,
    ]);
  }
  for (const name of stagedScenarios) {
    say(`scenario ${name}: power cut in extract-rootfs on a two-disk box, the disks swapped on the bus for the resume`);
    const stagedZstd = await stagedWith("zstd");
    await scenario(name, () => resumeOnSwappedDisks({ newOs, old, stagedDisk: stagedZstd.disk, tiny, artifacts }), [{ phase: "assets (build or cache)", seconds: assetSeconds }, ...stagedZstd.timings]);
  }
  const passed = results.filter(ok).length;
  const rerunNote = reruns.length ? `; ${reruns.length} rerun${reruns.length > 1 ? "s" : ""} after an emulator flake: ${reruns.join(" | ")}` : "; no reruns";
  console.log(`\nE2E SUMMARY: ${passed} passed, ${results.length - passed} failed (${results.map((r) => `${r.variant.name}:${ok(r) ? "PASS" : "FAIL"}`).join(" ")})${rerunNote}; serial logs in ${artifacts}`);
  return passed === results.length ? 0 : 1;
}

/**
 * Runs a scenario; every VM it started is powered off when it ends, whatever the outcome. A failure
 * with a known emulator-flake signature (console-watch.ts) is run once more, and `noteRerun` says
 * which VM, which signature; any other failure, a panic of another kind included, stands.
 */
export async function withOneRerunOnFlake(name: string, attempt: () => Promise<ScenarioResult>, noteRerun: (note: string) => void): Promise<ScenarioResult> {
  const first = await endingItsVms(name, attempt);
  if (ok(first) || !first.flake) return first;
  noteRerun(`${name}: rerun once after emulator flake ${first.flake.signature} on VM ${first.flake.vm}`);
  const second = await endingItsVms(name, attempt);
  return second.flake ? { ...second, error: `${second.error}\n(emulator flake ${second.flake.signature} twice in a row: not rerun again)` } : second;
}

async function endingItsVms(name: string, attempt: () => Promise<ScenarioResult>): Promise<ScenarioResult> {
  try {
    return await attempt();
  } finally {
    const left = await killAllVms();
    if (left) console.log(`[e2e] ${name}: powered off ${left} VM(s) the scenario left running`);
  }
}

/**
 * A passed scenario keeps its serial logs; its disk images (GBs each: a run of the suite wrote ~8 GB,
 * and a full filesystem pauses every guest) go. A failed one keeps everything for the post-mortem.
 */
function dropDiskImages(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    if (/\.(qcow2|img|tar)$/.test(name)) rmSync(join(dir, name), { force: true });
  }
}

const ok = (result: ScenarioResult) => !result.error && result.checks.length > 0 && result.checks.every((c) => c.ok);

function printResult(result: ScenarioResult, shared: Timing[]): void {
  console.log(`\n=== ${result.variant.name}: ${ok(result) ? "PASS" : "FAIL"}`);
  if (result.error) console.log(`error: ${result.error}`);
  for (const check of result.checks) console.log(`  ${check.ok ? "ok  " : "FAIL"} ${check.name}: ${check.seen}`);
  console.log("\n  timing (seconds, TCG emulation)");
  for (const timing of [...shared, ...result.timings]) console.log(`  ${timing.phase.padEnd(56)} ${timing.seconds.toFixed(1).padStart(8)}`);
}

if (import.meta.main) main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[e2e] ERROR: ${(error as Error).stack ?? error}`);
    console.log("\nE2E SUMMARY: 0 passed, harness error");
    process.exit(1);
  },
);
