import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CapturedConfig, type CapturedMount, CARRY_OVER_ARCHIVE_FILE, readCapturedConfig } from "../carry-over/captured-config.ts";
import { restorePathsCommand } from "../carry-over/paths-archive.ts";
import { renderHostname, withHostsEntry } from "../carry-over/render-hostname.ts";
import { withInterfacesDirSourced } from "../carry-over/render-ifupdown.ts";
import { chooseNetworkStyle, type NetworkStyle, renderNetwork, styleWritesResolvConf } from "../carry-over/render-network.ts";
import { renderResolvConf } from "../carry-over/render-resolv-conf.ts";
import { isSymlink, writeRenderedFile } from "../carry-over/rendered-file.ts";
import { carryAccounts } from "../carry-over/create-accounts.ts";
import { unescapeFstab } from "../carry-over/capture-mounts.ts";
import { withCarriedMounts } from "../carry-over/render-fstab-mounts.ts";
import { modeAndOwnerOf, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { detectDistro } from "../distro/adapter.ts";
import { PayloadError } from "../errors/errors.ts";
import { CAPTURED_CONFIG_FILE } from "../paths.ts";
import { storeDir } from "../workflow/resume-store.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/** Applies the configuration captured on the old system, when `stage` captured one. */
export const carryOverConfig: Step = {
  name: "carry-over-config",
  summary:
    "render the captured network, DNS and hostname natively; restore the extra paths; carry the listed accounts (password hash, or new passwd/shadow/group/gshadow lines and a home from /etc/skel); append the carried mounts to /etc/fstab as one marked block, creating their mount points",
  destructive: true,
  requires: ["target", "chroot"],
  reads: () => [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE],
  commands: (ctx) => (ctx.manifest.carryOver.paths.length > 0 ? [restoreCommand(ctx)] : []),
  async run(ctx) {
    const config = readCapturedConfig(join(ctx.paths.payloadDir, CAPTURED_CONFIG_FILE));
    if (!config) {
      ctx.log.info("no captured configuration: the new system keeps its own defaults");
      return;
    }
    for (const warning of config.warnings) ctx.log.warn(`captured on the old system: ${warning.message}`, { id: warning.id });
    const distro = ctx.distro ?? detectDistro(ctx.paths.targetRoot);
    if (ctx.manifest.carryOver.network !== false) await applyNetwork(ctx, config, distro.networkStyle);
    if (config.hostname) applyHostname(ctx, config.hostname, distro.family === "debian");
    // before the accounts: a home carried as a path is found in place and not filled from /etc/skel
    if (config.paths.length > 0) await restorePaths(ctx);
    if (config.accounts.length > 0) applyAccounts(ctx, config);
    applyMounts(ctx, config.mounts);
  },
};

function restoreCommand(ctx: PlanContext): string[] {
  return restorePathsCommand(join(ctx.paths.payloadDir, CARRY_OVER_ARCHIVE_FILE), ctx.paths.targetRoot);
}

async function applyNetwork(ctx: StepContext, config: CapturedConfig, native: NetworkStyle): Promise<void> {
  const target = ctx.paths.targetRoot;
  const { style, enableUnits, why } = chooseNetworkStyle(config, native, (path) => existsSync(join(target, path)));
  if (why) ctx.log.warn(`network: ${why}`);
  const files = renderNetwork(config, style);
  if (!styleWritesResolvConf(style) && !isSymlink(join(target, "etc/resolv.conf"))) files.push(...renderResolvConf(config.dns));
  for (const file of files) writeRenderedFile(target, file);
  if (style === "ifupdown" && config.interfaces.length > 0) sourceInterfacesDir(ctx);
  for (const unit of enableUnits) await ctx.run.run(enableUnitCommand(target, unit));
  ctx.log.info(`network carried as ${style}: ${config.interfaces.map((i) => `${i.name}${i.mac ? ` (${i.mac})` : ""}`).join(", ") || "no interfaces"}`, {
    files: files.map((f) => f.path),
  });
}

/** The new system's own systemctl makes the [Install] links (Also= units included); in a chroot it works offline. */
function enableUnitCommand(targetRoot: string, unit: string): string[] {
  return ["chroot", targetRoot, "systemctl", "enable", unit];
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

/** Judged against the extracted root (the payload stage judged): a clash found only now is left out, loudly. */
function applyAccounts(ctx: StepContext, config: CapturedConfig): void {
  const wanted = new Set(ctx.manifest.carryOver.accounts);
  const plan = carryAccounts(ctx.paths.targetRoot, config.accounts.filter((a) => wanted.has(a.name)));
  for (const account of plan.accounts) {
    if (account.action === "refused") {
      ctx.log.warn(`account ${account.name} not carried: ${account.clashes.join(", ")}`, { id: "account-clash" });
      continue;
    }
    for (const note of account.notes) ctx.log.warn(`account ${account.name}: ${note}`);
    ctx.log.info(account.action === "create" ? `account ${account.name} created with its old uid, groups and password hash` : `password hash of ${account.name} carried`);
  }
}

/** Re-run safe: the block of an earlier run is replaced as a whole. */
function applyMounts(ctx: StepContext, mounts: readonly CapturedMount[]): void {
  const path = join(ctx.paths.targetRoot, "etc/fstab");
  const before = existsSync(path) ? readFileSync(path, "utf8") : "";
  const { text, carried, clashing } = withCarriedMounts(before, mounts);
  for (const mount of clashing) ctx.log.warn(`mount ${mount.mountPoint} (${mount.spec}) not carried: the new /etc/fstab already mounts something there`, { id: "mount-clash" });
  for (const mount of carried) mkdirSync(join(ctx.paths.targetRoot, unescapeFstab(mount.mountPoint)), { recursive: true, mode: 0o755 });
  if (text !== before) writeFileAtomically(path, text, modeAndOwnerOf(path, 0o644));
  if (carried.length > 0) ctx.log.info(`mounts carried into /etc/fstab (nofail added where missing): ${carried.map((m) => `${m.mountPoint} (${m.spec})`).join(", ")}`);
}

async function restorePaths(ctx: StepContext): Promise<void> {
  const archive = join(ctx.paths.payloadDir, CARRY_OVER_ARCHIVE_FILE);
  if (!existsSync(archive)) {
    throw new PayloadError(
      `${archive} is missing: the captured configuration lists extra paths but their archive was not loaded`,
      `Copy ${CARRY_OVER_ARCHIVE_FILE} from the resume store (${storeDir(ctx.paths)}, mounted) into ${ctx.paths.payloadDir}, then run \`va-agent migrate\`.`,
    );
  }
  await ctx.run.run(restoreCommand(ctx));
}
