// Builds what the vendor ships for the tiny system: the agent binary and initramfs-convert.img
// (the new OS's stock dracut image + the va-agent overlay with the vendor's public key), with
// build.ts, exactly as a vendor would.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { NewOs } from "../assets/new-os.ts";

const REPO = join(import.meta.dir, "../..");

/** The vendor's signing pair (build.ts keygen): the tiny system trusts its public key, bundles are signed with the private one. */
export interface VendorKeys {
  /** The keygen directory: the keyring for `build.ts initramfs --keyring` (only *.pub is taken). */
  dir: string;
  privateKey: string;
  publicKey: string;
}

export interface TinySystem {
  agent: string;
  kernel: string;
  initramfs: string;
  /** The keys its initramfs trusts: sign every manifest staged for it with keys.privateKey. */
  keys: VendorKeys;
  seconds: number;
}

export function vendorKeys(dir: string): VendorKeys {
  buildTs(["keygen", "--out", dir]);
  return { dir, privateKey: join(dir, "va-signing.key"), publicKey: join(dir, "va-signing.pub") };
}

export function buildTinySystem(newOs: NewOs, outDir: string, keys: VendorKeys, buildAgent: (out: string) => void = compileAgent): TinySystem {
  const startedAt = performance.now();
  const agent = join(outDir, "va-agent");
  const initramfs = join(outDir, "initramfs-convert.img");
  buildAgent(agent);
  buildTs(["initramfs", "--sysroot", newOs.rootDir, "--stock", newOs.stockInitramfs, "--keyring", keys.dir, "--agent", agent, "--out", initramfs, "--zstd-level", "3"]);
  return { agent, kernel: newOs.kernel, initramfs, keys, seconds: (performance.now() - startedAt) / 1000 };
}

export function compileAgent(out: string): void {
  buildTs(["agent", "--out", out]);
}

export function buildTs(args: string[]): void {
  const result = spawnSync(process.execPath, [join(REPO, "build.ts"), ...args], { cwd: REPO, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`build.ts ${args.join(" ")} failed with exit status ${result.status}`);
}
