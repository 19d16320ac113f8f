// Vendor-side build.
//   bun build.ts agent [--out dist/va-agent]
//       compile agent/main.ts into one baseline-x64 executable, VA_VERSION injected.
//   bun build.ts initramfs --sysroot DIR --stock STOCK.img --keyring KEYS [--agent dist/va-agent] --out OUT.img [--zstd-level N]
//       the tiny system: stock dracut image + NUL padding to 512 + zstd newc overlay (agent, replaced
//       dracut-emergency.service, initramfs-overlay/, tools from build/tools.ts with libraries from DIR,
//       the vendor's public keys KEYS/*.pub in /etc/va-agent/keys/: the tiny system verifies the staged manifest with them).
//   bun build.ts keygen --out DIR
//       an Ed25519 signing pair: DIR/va-signing.key (PKCS8 PEM, 0600) and DIR/va-signing.pub (for the keyring).
//   bun build.ts bundle --manifest M.json --key KEY --out BUNDLE.tar --file NAME=PATH ... [--slot-image]
//       the signed upgrade bundle: manifest (bytes + SHA-256 of every member filled in), its signature, the members.
//       --slot-image: a slot image for `va-agent install` (manifest "kind": "slot-image": product, rootfs,
//       filesystem; no partition table, no tiny system).
//   bun build.ts validators
//       regenerate the ahead-of-time JSON Schema validators (after changing a schema).

import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatArgv } from "./agent/runner/argv-text.ts";
import { buildBundle, parseFileArgs } from "./build/bundle.ts";
import { generateSigningKeys } from "./build/keygen.ts";
import { buildInitramfsImage, checkKernelZstd, KEYRING_PATH } from "./build/overlay.ts";
import { TINY_CMDLINE } from "./agent/bootloader/tiny-cmdline.ts";
import { TOOLS } from "./build/tools.ts";
import { writeValidators } from "./build/validators.ts";

const REPO = import.meta.dir;

class UsageError extends Error {
  override name = "UsageError";
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

function run(argv: string[], opts: { cwd?: string } = {}): string {
  console.log(`+ ${formatArgv(argv)}`);
  const t0 = performance.now();
  const p = Bun.spawnSync(argv, { cwd: opts.cwd ?? REPO, stdout: "pipe", stderr: "inherit" });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (p.exitCode !== 0) throw new Error(`command failed (exit ${p.exitCode}, ${secs}s): ${formatArgv(argv)}`);
  return p.stdout.toString();
}

export function agentVersion(): string {
  const { version } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
  const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: REPO, stdout: "pipe", stderr: "ignore" });
  const hash = git.exitCode === 0 ? git.stdout.toString().trim() : "";
  return hash ? `${version}+${hash}` : version;
}

function buildAgent(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: "string", default: "dist/va-agent" },
      entry: { type: "string", default: "agent/main.ts" }, // undocumented: build a stub instead
    },
  });
  const out = resolve(REPO, values.out!);
  const entry = resolve(REPO, values.entry!);
  const version = agentVersion();
  mkdirSync(dirname(out), { recursive: true });
  const t0 = performance.now();
  run([
    process.execPath,
    "build",
    "--compile",
    "--minify",
    "--target=bun-linux-x64-baseline",
    "--define",
    `VA_VERSION=${JSON.stringify(version)}`,
    "--outfile",
    out,
    entry,
  ]);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`agent ${version}: ${out} ${mib(statSync(out).size)} in ${secs}s`);
}

function buildInitramfs(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      sysroot: { type: "string" },
      stock: { type: "string" },
      agent: { type: "string", default: "dist/va-agent" },
      keyring: { type: "string" },
      out: { type: "string" },
      "zstd-level": { type: "string", default: "19" },
    },
  });
  if (!values.sysroot || !values.stock || !values.keyring || !values.out) {
    throw new UsageError("initramfs needs --sysroot DIR --stock STOCK.img --keyring KEYS --out OUT.img");
  }
  const t0 = performance.now();
  const sysroot = resolve(values.sysroot);
  const level = Number(values["zstd-level"]);
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new UsageError("--zstd-level must be 1..22");

  console.log(checkKernelZstd(sysroot));
  const out = resolve(values.out);
  const r = buildInitramfsImage({
    sysroot,
    stock: resolve(values.stock),
    agent: resolve(REPO, values.agent!),
    unit: join(REPO, "units/dracut-emergency.service"),
    overlayDir: join(REPO, "initramfs-overlay"),
    keyring: resolve(values.keyring),
    tools: TOOLS,
    out,
    zstdLevel: level,
  });
  console.log(`keyring: ${r.contents.entries.filter((e) => e.path.startsWith(`${KEYRING_PATH}/`)).map((e) => `/${e.path}`).join(" ")}`);
  console.log(`agent needs: ${r.contents.agentNeeds.join(" ") || "(not an ELF file)"}`);
  console.log(`libraries from ${sysroot}: ${r.contents.libraries.map((l) => l.path).join(" ")}`);
  console.log(
    [
      `stock    ${values.stock}: ${mib(r.stockBytes)}`,
      `overlay  ${r.files} files/links, ${mib(r.cpioBytes)} cpio, ${mib(r.overlayBytes)} zstd -${level} at offset ${r.overlayOffset}`,
      `out      ${out}: ${mib(r.outBytes)} in ${((performance.now() - t0) / 1000).toFixed(1)}s`,
      `boot it with: console=… ${TINY_CMDLINE} [va.mode=migrate|plan|shell] [va.poweroff=1]`,
    ].join("\n"),
  );
}

function keygen(args: string[]): void {
  const { values } = parseArgs({ args, options: { out: { type: "string" } } });
  if (!values.out) throw new UsageError("keygen needs --out DIR");
  const keys = generateSigningKeys(resolve(values.out));
  console.log(`key ${keys.keyId}\n  private ${keys.privateKeyFile} (keep it secret)\n  public  ${keys.publicKeyFile} (install in /etc/va-agent/keys/)`);
}

async function bundle(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { manifest: { type: "string" }, key: { type: "string" }, out: { type: "string" }, file: { type: "string", multiple: true }, "slot-image": { type: "boolean", default: false } },
  });
  if (!values.manifest || !values.key || !values.out) throw new UsageError("bundle needs --manifest M.json --key KEY --out BUNDLE.tar --file NAME=PATH ...");
  const t0 = performance.now();
  const files = parseFileArgs(values.file ?? []);
  const r = await buildBundle({ manifest: values.manifest, key: values.key, out: resolve(values.out), files, slotImage: values["slot-image"] });
  for (const m of r.members) console.log(`  ${m.file.padEnd(24)} ${mib(m.bytes).padStart(10)}  sha256 ${m.sha256}`);
  console.log(`${values["slot-image"] ? "slot image" : "bundle"} ${r.out}: ${mib(r.bytes)}, signed by key ${r.keyId}, in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
}

const USAGE = `usage:
  bun build.ts agent [--out dist/va-agent]
  bun build.ts initramfs --sysroot DIR --stock STOCK.img --keyring KEYS [--agent dist/va-agent] --out OUT.img [--zstd-level 19]
  bun build.ts keygen --out DIR
  bun build.ts bundle --manifest M.json --key KEY --out BUNDLE.tar --file NAME=PATH [--file NAME=PATH ...] [--slot-image]
  bun build.ts validators`;

if (import.meta.main) {
  const [cmd, ...rest] = process.argv.slice(2);
  try {
    if (cmd === "agent") buildAgent(rest);
    else if (cmd === "initramfs") buildInitramfs(rest);
    else if (cmd === "keygen") keygen(rest);
    else if (cmd === "bundle") await bundle(rest);
    else if (cmd === "validators") for (const file of writeValidators(REPO)) console.log(`wrote ${file}`);
    else throw new UsageError(`unknown command ${cmd ?? "(none)"}`);
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`build.ts: ${err.message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(`build.ts: ${err.name}: ${err.message}`);
    process.exit(1);
  }
}
