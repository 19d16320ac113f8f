import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { VerificationError } from "../errors/errors.ts";
import type { Progress } from "../log/logger.ts";
import type { PlanContext, Step } from "./step.ts";

const CHUNK_BYTES = 4 * 1024 * 1024;

/** Streams the archive from RAM into tar: owners numeric, ACLs, xattrs and SELinux labels kept. */
export const extractRootfs: Step = {
  name: "extract-rootfs",
  summary: "extract the new root filesystem with owners, ACLs, xattrs and SELinux labels",
  destructive: true,
  requires: ["target"],
  reads: (manifest) => [manifest.payload.rootfs.file],
  commands: (ctx: PlanContext) => [tarCommand(ctx)],
  async run(ctx) {
    const archive = join(ctx.paths.payloadDir, ctx.manifest.payload.rootfs.file);
    const total = statSync(archive).size;
    const progress = ctx.log.progress(`extracting ${ctx.manifest.payload.rootfs.file}`);
    await ctx.run.pipeInto(tarCommand(ctx), readWithProgress(archive, total, progress));
    progress.finish();
    checkKernelPresent(ctx.paths.targetRoot);
  },
};

function tarCommand(ctx: PlanContext): string[] {
  const decompress = ctx.manifest.payload.rootfs.compression === "zstd" ? "--zstd" : "--xz";
  return [
    "tar",
    "--extract",
    decompress,
    "--file=-",
    "--numeric-owner",
    "--preserve-permissions",
    "--acls",
    "--xattrs",
    "--xattrs-include=*",
    `--directory=${ctx.paths.targetRoot}`,
  ];
}

async function* readWithProgress(path: string, total: number, progress: Progress): AsyncGenerator<Uint8Array> {
  let done = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) {
    done += (chunk as Buffer).length;
    progress.update(done, total);
    yield chunk as Buffer;
  }
}

/** A rootfs without a kernel would install fine and never boot: refuse it here. */
export function installedKernels(root: string): string[] {
  const modules = join(root, "lib/modules");
  if (!existsSync(modules)) return [];
  return readdirSync(modules)
    .filter((kver) => existsSync(join(root, "boot", `vmlinuz-${kver}`)))
    .sort();
}

function checkKernelPresent(root: string): void {
  if (installedKernels(root).length === 0) {
    throw new VerificationError(
      "the extracted root has no kernel: no /boot/vmlinuz-KVER matches a /lib/modules/KVER",
      "The payload is incomplete: rebuild it with the kernel package installed.",
    );
  }
}
