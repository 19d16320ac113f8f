import { afterAll, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureNetwork } from "../../agent/carry-over/capture-network.ts";
import type { CapturedConfig, CarryOverWarning } from "../../agent/carry-over/captured-config.ts";
import { managementInterfaces } from "../../agent/carry-over/cross-check-live.ts";
import { type LiveNetwork, parseLiveNetwork } from "../../agent/carry-over/live-network.ts";
import { type NetworkMeaning, networkMeaning } from "../../agent/carry-over/network-meaning.ts";
import { ifupdownRefusals, withInterfacesDirSourced } from "../../agent/carry-over/render-ifupdown.ts";
import { type NetworkStyle, renderNetwork, styleWritesResolvConf } from "../../agent/carry-over/render-network.ts";
import { renderResolvConf } from "../../agent/carry-over/render-resolv-conf.ts";
import { isSymlink, writeRenderedFile } from "../../agent/carry-over/rendered-file.ts";

/**
 * Real-world old systems (fixtures/network-corpus/<case>/ is a root tree): each is captured, its
 * meaning compared with expected.json, then rendered by every renderer into a fresh root and captured
 * again: the meaning must survive. live.json, when present, is the box's `ip -j -d addr`, `ip -j -4 route`
 * and `ip -j -6 route`: with it, a not-carried interface the management traffic needs inhibits.
 */
const CORPUS = join(import.meta.dir, "fixtures/network-corpus");
const STYLES: NetworkStyle[] = ["networkmanager", "networkd", "ifupdown", "network-scripts"];
type Status = "carried" | "warned" | "inhibited";

interface Expected {
  status: Status;
  meaning: NetworkMeaning;
  /** Not-carried warnings that must be there (id and/or interface); no other may be. */
  warnings?: { id?: string; interface?: string }[];
}

const table: [string, string][] = [];
afterAll(() => {
  const width = Math.max(...table.map(([name]) => name.length));
  console.log(`\nnetwork corpus (${table.length} cases)\n${table.map(([name, status]) => `  ${name.padEnd(width)}  → ${status}`).join("\n")}`);
});

for (const name of readdirSync(CORPUS).sort()) {
  test(`corpus: ${name}`, () => {
    let outcome = "FAILED";
    try {
      outcome = runCase(join(CORPUS, name));
    } catch (error) {
      outcome = `FAILED: ${firstLine(error)}`;
      throw error;
    } finally {
      table.push([name, outcome]);
    }
  });
}

function runCase(fixture: string): string {
  const root = installed(fixture);
  try {
    return checkCase(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** NetworkManager keyfiles that git checked out 0644 are 0600 on a real system (NetworkManager ignores the others). */
const PRIVATE_DIRS = ["etc/NetworkManager/system-connections", "run/NetworkManager/system-connections", "usr/lib/NetworkManager/system-connections"];

/** The fixture as the old system has it on disk: symlinks kept as symlinks, private files private. */
function installed(fixture: string): string {
  const root = mkdtempSync(join(tmpdir(), "va-corpus-old-"));
  cpSync(fixture, root, { recursive: true, verbatimSymlinks: true });
  for (const dir of PRIVATE_DIRS.map((path) => join(root, path)).filter(existsSync)) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isFile()) chmodSync(join(dir, entry.name), 0o600);
  }
  return root;
}

function checkCase(root: string): string {
  const expected = JSON.parse(readFileSync(join(root, "expected.json"), "utf8")) as Expected;
  const live = readLive(root);
  const captured = captureNetwork(root, live);
  const refused = captured.warnings.filter(isNotCarried);
  for (const wanted of expected.warnings ?? []) {
    expect(refused.some((w) => (!wanted.id || w.id === wanted.id) && (!wanted.interface || w.interface === wanted.interface)), `expected warning ${JSON.stringify(wanted)} in ${describe(refused)}`).toBe(true);
  }
  const unexpected = refused.filter((w) => !(expected.warnings ?? []).some((wanted) => (!wanted.id || w.id === wanted.id) && (!wanted.interface || w.interface === wanted.interface)));
  expect(unexpected, "not-carried warnings nobody expected").toEqual([]);
  expect(networkMeaning(captured)).toEqual(expected.meaning);
  const refusedBy: string[] = [];
  for (const style of STYLES) {
    if (styleRefuses(captured, style)) refusedBy.push(style);
    else for (const target of targetsOf(style)) expect(roundTrip(root, captured, style, target), `after rendering as ${style} for ${target}`).toEqual(expected.meaning);
  }
  const status = statusOf(refused, managementInterfaces(captured.interfaces, live));
  expect(status).toBe(expected.status);
  return refusedBy.length > 0 ? `${status} (refused by name when rendering as ${refusedBy.join(", ")})` : status;
}

/** What a style cannot say, the step refuses by name before writing anything: there is no round trip to check. */
function styleRefuses(captured: Pick<CapturedConfig, "interfaces" | "dns">, style: NetworkStyle): boolean {
  return style === "ifupdown" && ifupdownRefusals({ ...EMPTY_CONFIG, interfaces: captured.interfaces, dns: captured.dns }).length > 0;
}

const EMPTY_CONFIG: CapturedConfig = { format: 2, interfaces: [], dns: { servers: [], search: [] }, accounts: [], mounts: [], paths: [], warnings: [] };

function statusOf(refused: CarryOverWarning[], management: string[]): Status {
  if (refused.some((w) => w.interface && management.includes(w.interface))) return "inhibited";
  return refused.length > 0 ? "warned" : "carried";
}

/**
 * The new systems a style is checked on: ifupdown on Debian as the installer leaves it (the step writes
 * a static /etc/resolv.conf, the dns-* lines do nothing) and with resolvconf (the dns-* lines count).
 */
type Target = "a fresh root" | "Debian" | "Debian with resolvconf";

function targetsOf(style: NetworkStyle): Target[] {
  return style === "ifupdown" ? ["Debian", "Debian with resolvconf"] : ["a fresh root"];
}

/** What the tiny system writes for `style` (carry-over-config.ts), into a root that has only the old box's NICs. */
function roundTrip(oldRoot: string, captured: Pick<CapturedConfig, "interfaces" | "dns">, style: NetworkStyle, target: Target): NetworkMeaning {
  const newRoot = mkdtempSync(join(tmpdir(), `va-corpus-${style}-`));
  try {
    if (existsSync(join(oldRoot, "sys"))) cpSync(join(oldRoot, "sys"), join(newRoot, "sys"), { recursive: true });
    const config: CapturedConfig = { ...EMPTY_CONFIG, interfaces: captured.interfaces, dns: captured.dns };
    if (target !== "a fresh root") installDebian(newRoot, target === "Debian with resolvconf");
    const files = renderNetwork(config, style);
    if (!styleWritesResolvConf(style) && !isSymlink(join(newRoot, "etc/resolv.conf"))) files.push(...renderResolvConf(config.dns));
    for (const file of files) writeRenderedFile(newRoot, file);
    if (style === "ifupdown") writeRenderedFile(newRoot, { path: "/etc/network/interfaces", content: withInterfacesDirSourced(readFileSync(join(newRoot, "etc/network/interfaces"), "utf8")), mode: 0o644 });
    const again = captureNetwork(newRoot, undefined);
    expect(again.warnings.filter(isNotCarried), `${style} renders something its own capture refuses`).toEqual([]);
    return networkMeaning(again);
  } finally {
    rmSync(newRoot, { recursive: true, force: true });
  }
}

/** resolvconf's ifupdown hook is what makes dns-* lines count; /etc/resolv.conf is then its symlink (the step writes no static one). */
function installDebian(root: string, withResolvconf: boolean): void {
  writeRenderedFile(root, { path: "/etc/network/interfaces", content: "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n", mode: 0o644 });
  if (!withResolvconf) return;
  writeRenderedFile(root, { path: "/etc/network/if-up.d/000resolvconf", content: "#!/bin/sh\n", mode: 0o755 });
  mkdirSync(join(root, "run/resolvconf"), { recursive: true });
  symlinkSync("../run/resolvconf/resolv.conf", join(root, "etc/resolv.conf"));
}

function readLive(root: string): LiveNetwork | undefined {
  const path = join(root, "live.json");
  if (!existsSync(path)) return undefined;
  const live = JSON.parse(readFileSync(path, "utf8")) as { addr: unknown; route4: unknown; route6?: unknown };
  return parseLiveNetwork(JSON.stringify(live.addr), JSON.stringify(live.route4), JSON.stringify(live.route6 ?? []));
}

function isNotCarried(warning: CarryOverWarning): boolean {
  return warning.message.startsWith("not carried");
}

function describe(warnings: CarryOverWarning[]): string {
  return JSON.stringify(warnings.map((w) => ({ id: w.id, interface: w.interface })));
}

function firstLine(error: unknown): string {
  return String((error as Error).message ?? error).split("\n").find((line) => line.trim() !== "")?.trim().slice(0, 120) ?? "?";
}
