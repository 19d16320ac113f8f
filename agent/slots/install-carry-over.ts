import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { captureForStage } from "../carry-over/capture-config.ts";
import { CARRY_OVER_ARCHIVE_FILE, writeCapturedConfig } from "../carry-over/captured-config.ts";
import { archivePathsCommand } from "../carry-over/paths-archive.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { CAPTURED_CONFIG_FILE, defaultPaths } from "../paths.ts";
import type { MigrationPlan } from "../plan/plan.ts";
import { carryOverConfig } from "../steps/carry-over-config.ts";
import { check, command, later, write, type Entry } from "../steps/entry.ts";
import type { PlanContext } from "../steps/step.ts";
import type { InstallContext } from "./install-context.ts";

/**
 * The running system's configuration carried into the slot by the migration's own code: captured
 * from "/" as stage captures the old system (into RAM), rendered into the slot by the
 * carry-over-config step in the slot's own style (its distribution detected from the slot's
 * os-release). Mounts are not captured: the slot's fstab keeps the running system's lines whole.
 */
export function captureEntries(ictx: InstallContext): Entry[] {
  const { root, workDir } = ictx.setup;
  const carryOver = ictx.facts.layout.carryOver;
  const document = join(workDir, CAPTURED_CONFIG_FILE);
  const archive = join(workDir, CARRY_OVER_ARCHIVE_FILE);
  const captured = () => ictx.captured!;
  const live = carryOver.network === false ? [] : [["ip", "-j", "-d", "addr", "show"], ["ip", "-j", "-4", "route", "show"], ["ip", "-j", "-6", "route", "show"]];
  const what = [carryOver.network === false ? undefined : "network (checked against the live one), DNS", "hostname", `accounts ${carryOver.accounts.join(", ") || "(none)"}`, `paths ${carryOver.paths.join(", ") || "(none)"}`].filter(Boolean).join(", ");
  return [
    check(
      `the running system's configuration captured from ${root}: ${what}`,
      async (ctx) => {
        ictx.captured = (await captureForStage({ root, run: ctx.run, log: ctx.log, manifest: { carryOver }, fstabCarriedWhole: true })).config;
      },
      live,
    ),
    write(document, "the captured configuration (0600; RAM: /run is a tmpfs)", () => {
      mkdirSync(workDir, { recursive: true });
      chmodSync(workDir, 0o700); // the log may have made it; tar makes the archive with the default mode
      writeCapturedConfig(document, captured());
    }),
    command([...archivePathsCommand(root, [], archive), later("<the listed paths that exist>", () => captured().paths.map((p) => p.path.replace(/^\/+/, "")))], {
      skipIf: { says: "no listed path exists on the running system", holds: () => captured().paths.length === 0 },
    }),
  ];
}

/** carry-over-config's entries, as the migration runs them, with the slot as the target root. */
export function renderEntries(ictx: InstallContext): Entry[] {
  return carryOverConfig.entries(slotStepContext(ictx));
}

/**
 * The step context the install's entries run in: the captured document's directory (RAM) as the
 * payload directory, the slot as the target root. Of the manifest only carryOver is read (the
 * carry-over step's), of the migration plan nothing: anything else read is an error, loudly.
 */
export function slotStepContext(ictx: InstallContext): PlanContext {
  const paths = { ...defaultPaths(ictx.setup.workDir, ictx.setup.slotTarget), payloadDir: ictx.setup.workDir, logFile: join(ictx.setup.workDir, "install.log") };
  return { manifest: only<Manifest>("manifest", { carryOver: ictx.facts.layout.carryOver }), plan: only<MigrationPlan>("migration plan", {}), paths };
}

function only<T extends object>(what: string, fields: Partial<T>): Readonly<T> {
  return new Proxy(fields, {
    get(target, key) {
      if (typeof key === "symbol" || key in target) return Reflect.get(target, key);
      throw new Error(`a slot install has no ${what}: ${String(key)} was read`);
    },
  }) as Readonly<T>;
}
