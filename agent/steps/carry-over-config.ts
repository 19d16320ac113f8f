import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CapturedConfig, CARRY_OVER_ARCHIVE_FILE, readCapturedConfig } from "../carry-over/captured-config.ts";
import { restorePathsCommand } from "../carry-over/paths-archive.ts";
import { renderHostname, withHostsEntry } from "../carry-over/render-hostname.ts";
import { withInterfacesDirSourced } from "../carry-over/render-ifupdown.ts";
import { type NetworkStyle, renderNetwork, styleWritesResolvConf } from "../carry-over/render-network.ts";
import { renderResolvConf } from "../carry-over/render-resolv-conf.ts";
import { isSymlink, writeRenderedFile } from "../carry-over/rendered-file.ts";
import { mergeShadowFile } from "../carry-over/shadow.ts";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { detectDistro } from "../distro/adapter.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import { PayloadError } from "../errors/errors.ts";
import { storeDir } from "../resume/store.ts";
import { check, choice, command, type Condition, type Entry, write } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/** Applies the configuration captured on the old system, when `stage` captured one. */
export const carryOverConfig: Step = {
  name: "carry-over-config",
  summary: "render the captured network, DNS and hostname natively, merge password hashes, restore extra paths",
  destructive: true,
  requires: ["target"],
  reads: () => [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE],
  entries: (ctx: PlanContext): Entry[] => {
    const root = ctx.paths.targetRoot;
    const captured: Condition = {
      says: `stage captured a configuration (${join(ctx.paths.payloadDir, CAPTURED_CONFIG_FILE)} is in RAM)`,
      holds: (run) => {
        const config = capturedConfig(run);
        if (!config) run.log.info("no captured configuration: the new system keeps its own defaults");
        for (const warning of config?.warnings ?? []) run.log.warn(`captured on the old system: ${warning.message}`, { id: warning.id });
        return config !== undefined;
      },
    };
    const when = (says: string, test: (config: CapturedConfig) => boolean): Condition => ({ says, holds: (run) => !test(capturedConfig(run)!) });
    return [
      choice(captured, [
        ...(ctx.manifest.carryOver.network !== false
          ? [write(`<network files of the new root's style under ${root}>`, "the captured interfaces, routes and DNS, rendered natively", (run) => applyNetwork(run, capturedConfig(run)!, distroOf(run).networkStyle))]
          : []),
        write(join(root, "etc/hostname"), "the captured hostname (and its /etc/hosts entry on Debian)", (run) => applyHostname(run, capturedConfig(run)!.hostname!, distroOf(run).family === "debian"), when("no hostname was captured", (c) => Boolean(c.hostname))),
        write(join(root, "etc/shadow"), `password hashes of ${ctx.manifest.carryOver.accounts.join(", ") || "no account"} merged`, (run) => applyAccounts(run, capturedConfig(run)!), when("no account was captured", (c) => c.accounts.length > 0)),
        check(`${join(ctx.paths.payloadDir, CARRY_OVER_ARCHIVE_FILE)} is in RAM when extra paths were captured`, checkArchiveLoaded),
        command(restoreCommand(ctx), { skipIf: when("no extra path was captured", (c) => c.paths.length > 0) }),
      ], []),
    ];
  },
};

function capturedConfig(ctx: StepContext): CapturedConfig | undefined {
  return readCapturedConfig(join(ctx.paths.payloadDir, CAPTURED_CONFIG_FILE));
}

const distroOf = (ctx: StepContext) => ctx.distro ?? detectDistro(ctx.paths.targetRoot);

function restoreCommand(ctx: PlanContext): string[] {
  return restorePathsCommand(join(ctx.paths.payloadDir, CARRY_OVER_ARCHIVE_FILE), ctx.paths.targetRoot);
}

function applyNetwork(ctx: StepContext, config: CapturedConfig, style: NetworkStyle): void {
  const files = renderNetwork(config, style);
  if (!styleWritesResolvConf(style) && !isSymlink(join(ctx.paths.targetRoot, "etc/resolv.conf"))) files.push(...renderResolvConf(config.dns));
  for (const file of files) writeRenderedFile(ctx.paths.targetRoot, file);
  if (style === "ifupdown" && config.interfaces.length > 0) sourceInterfacesDir(ctx);
  ctx.log.info(`network carried as ${style}: ${config.interfaces.map((i) => `${i.oldName} (${i.mac})`).join(", ") || "no interfaces"}`, {
    files: files.map((f) => f.path),
  });
}

function sourceInterfacesDir(ctx: StepContext): void {
  const path = join(ctx.paths.targetRoot, "etc/network/interfaces");
  const before = existsSync(path) ? readFileSync(path, "utf8") : "";
  const after = withInterfacesDirSourced(before);
  if (after !== before) writeFileAtomically(path, after, modeAndOwnerOf(path, 0o644));
}

function applyHostname(ctx: StepContext, hostname: string, writeHosts: boolean): void {
  writeRenderedFile(ctx.paths.targetRoot, renderHostname(hostname));
  const hostsPath = join(ctx.paths.targetRoot, "etc/hosts");
  if (writeHosts) {
    const hosts = withHostsEntry(existsSync(hostsPath) ? readFileSync(hostsPath, "utf8") : "127.0.0.1\tlocalhost\n", hostname);
    writeFileAtomically(hostsPath, hosts, modeAndOwnerOf(hostsPath, 0o644));
  }
  ctx.log.info(`hostname set to ${hostname}`);
}

function applyAccounts(ctx: StepContext, config: CapturedConfig): void {
  const wanted = new Set(ctx.manifest.carryOver.accounts);
  const hashes = new Map(config.accounts.filter((a) => wanted.has(a.name)).map((a) => [a.name, a.passwordHash]));
  const { missing } = mergeShadowFile(join(ctx.paths.targetRoot, "etc/shadow"), hashes);
  for (const name of missing) ctx.log.warn(`account ${name} does not exist in the new system; its password was not carried over`);
  ctx.log.info(`password hashes carried for ${[...hashes.keys()].filter((name) => !missing.includes(name)).join(", ") || "no account"}`);
}

function checkArchiveLoaded(ctx: StepContext): void {
  const archive = join(ctx.paths.payloadDir, CARRY_OVER_ARCHIVE_FILE);
  if (capturedConfig(ctx)!.paths.length === 0 || existsSync(archive)) return;
  throw new PayloadError(
    `${archive} is missing: the captured configuration lists extra paths but their archive was not loaded`,
    `Copy ${CARRY_OVER_ARCHIVE_FILE} from the resume store (${storeDir(ctx.paths)}, mounted) into ${ctx.paths.payloadDir}, then run \`va-agent migrate\`.`,
  );
}
