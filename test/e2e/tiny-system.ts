// Builds what the vendor ships for the tiny system: the agent binary and initramfs-convert.img
// (the new OS's stock dracut image + the va-agent overlay), with build.ts, exactly as a vendor would.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { NewOs } from "../assets/new-os.ts";

const REPO = join(import.meta.dir, "../..");

export interface TinySystem {
  agent: string;
  kernel: string;
  initramfs: string;
  seconds: number;
}

export function buildTinySystem(newOs: NewOs, outDir: string, buildAgent: (out: string) => void = compileAgent): TinySystem {
  const startedAt = performance.now();
  const agent = join(outDir, "va-agent");
  const initramfs = join(outDir, "initramfs-convert.img");
  buildAgent(agent);
  buildTs(["initramfs", "--sysroot", newOs.rootDir, "--stock", newOs.stockInitramfs, "--agent", agent, "--out", initramfs, "--zstd-level", "3"]);
  return { agent, kernel: newOs.kernel, initramfs, seconds: (performance.now() - startedAt) / 1000 };
}

export function compileAgent(out: string): void {
  buildTs(["agent", "--out", out]);
}

export function buildTs(args: string[]): void {
  const result = spawnSync(process.execPath, [join(REPO, "build.ts"), ...args], { cwd: REPO, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`build.ts ${args.join(" ")} failed with exit status ${result.status}`);
}
