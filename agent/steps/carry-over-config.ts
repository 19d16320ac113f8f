import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CapturedConfig, type CapturedMount, CARRY_OVER_ARCHIVE_FILE, readCapturedConfig } from "../carry-over/captured-config.ts";
import { restorePathsCommand } from "../carry-over/paths-archive.ts";
import { renderHostname, withHostsEntry } from "../carry-over/render-hostname.ts";
import { withInterfacesDirSourced } from "../carry-over/render-ifupdown.ts";
import { chooseNetworkStyle, type NetworkStyleChoice, renderNetwork, styleWritesResolvConf } from "../carry-over/render-network.ts";
import { renderResolvConf } from "../carry-over/render-resolv-conf.ts";
import { isSymlink, writeRenderedFile } from "../carry-over/rendered-file.ts";
import { carryAccounts } from "../carry-over/create-accounts.ts";
import { unescapeFstab } from "../carry-over/capture-mounts.ts";
import { withCarriedMounts } from "../carry-over/render-fstab-mounts.ts";
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
  summary:
    "render the captured network, DNS and hostname natively; restore the extra paths; carry the listed accounts (password hash, or new passwd/shadow/group/gshadow lines and a home from /etc/skel); append the carried mounts to /etc/fstab as one marked block, creating their mount points",
  destructive: true,
  requires: ["target", "chroot"],
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
    const network = ctx.manifest.carryOver.network !== false;
    return [
      choice(captured, [
        ...(network
          ? [
              write(`<network files of the chosen style under ${root}>`, "the captured interfaces, routes and DNS, rendered in the new OS's own style (systemd-networkd when that one cannot say them)", (run) => applyNetwork(run, capturedConfig(run)!)),
              command(enableUnitCommand(root, NETWORKD_UNIT), { skipIf: { says: "the new OS's own network style applies, or systemd-networkd is enabled already", holds: (run) => !networkStyleOf(run, capturedConfig(run)!).enableUnits.includes(NETWORKD_UNIT) } }),
            ]
          : []),
        write(join(root, "etc/hostname"), "the captured hostname (and its /etc/hosts entry on Debian)", (run) => applyHostname(run, capturedConfig(run)!.hostname!, distroOf(run).family === "debian"), when("no hostname was captured", (c) => Boolean(c.hostname))),
        // before the accounts: a home carried as a path is found in place and not filled from /etc/skel
        check(`${join(ctx.paths.payloadDir, CARRY_OVER_ARCHIVE_FILE)} is in RAM when extra paths were captured`, checkArchiveLoaded),
        command(restoreCommand(ctx), { skipIf: when("no extra path was captured", (c) => c.paths.length > 0) }),
        write(
          `${join(root, "etc/{passwd,shadow,group,gshadow}")}, <homes from /etc/skel>`,
          `the listed accounts ${ctx.manifest.carryOver.accounts.join(", ") || "(none)"}: their password hash, or created with their old uid, groups and hash`,
          (run) => applyAccounts(run, capturedConfig(run)!),
          when("no account was captured", (c) => c.accounts.length > 0),
        ),
        write(join(root, "etc/fstab"), "the captured mounts of other disks and network filesystems, as one marked block, and their mount points", (run) => applyMounts(run, capturedConfig(run)!.mounts), when("no mount was captured", (c) => c.mounts.length > 0)),
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

const NETWORKD_UNIT = "systemd-networkd.service";

function networkStyleOf(ctx: StepContext, config: CapturedConfig): NetworkStyleChoice {
  const target = ctx.paths.targetRoot;
  return chooseNetworkStyle(config, distroOf(ctx).networkStyle, (path) => existsSync(join(target, path)));
}

function applyNetwork(ctx: StepContext, config: CapturedConfig): void {
  const target = ctx.paths.targetRoot;
  const { style, why } = networkStyleOf(ctx, config);
  if (why) ctx.log.warn(`network: ${why}`);
  const files = renderNetwork(config, style);
  if (!styleWritesResolvConf(style) && !isSymlink(join(target, "etc/resolv.conf"))) files.push(...renderResolvConf(config.dns));
  for (const file of files) writeRenderedFile(target, file);
  if (style === "ifupdown" && config.interfaces.length > 0) sourceInterfacesDir(ctx);
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

function checkArchiveLoaded(ctx: StepContext): void {
  const archive = join(ctx.paths.payloadDir, CARRY_OVER_ARCHIVE_FILE);
  if (capturedConfig(ctx)!.paths.length === 0 || existsSync(archive)) return;
  throw new PayloadError(
    `${archive} is missing: the captured configuration lists extra paths but their archive was not loaded`,
    `Copy ${CARRY_OVER_ARCHIVE_FILE} from the resume store (${storeDir(ctx.paths)}, mounted) into ${ctx.paths.payloadDir}, then run \`va-agent migrate\`.`,
  );
}
