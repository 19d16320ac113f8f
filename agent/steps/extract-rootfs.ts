import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { VerificationError } from "../errors/errors.ts";
import type { Compression } from "../manifest/manifest.ts";
import { check, command } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/** Streams the archive from RAM into tar: owners numeric, ACLs, xattrs and SELinux labels kept. */
export const extractRootfs: Step = {
  name: "extract-rootfs",
  summary: "extract the new root filesystem with owners, ACLs, xattrs and SELinux labels",
  destructive: true,
  requires: ["target"],
  makesNewRoot: true,
  reads: (manifest) => [manifest.payload.rootfs.file],
  entries: (ctx: PlanContext) => [
    command(tarCommand(ctx), { stdin: { file: join(ctx.paths.payloadDir, ctx.manifest.payload.rootfs.file), progress: `extracting ${ctx.manifest.payload.rootfs.file}` } }),
    check("the new root has a kernel: a /boot/vmlinuz-KVER for a /lib/modules/KVER", checkKernelPresent),
  ],
};

function tarCommand(ctx: PlanContext): string[] {
  return extractArchiveCommand(ctx.manifest.payload.rootfs.compression, ctx.paths.targetRoot);
}

/** The one tar invocation that lays down a root (the migration's and a slot install's): numeric owners, permissions, ACLs, every xattr. */
export function extractArchiveCommand(compression: Compression, directory: string): string[] {
  const decompress = compression === "zstd" ? "--zstd" : "--xz";
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
    `--directory=${directory}`,
  ];
}

/** A rootfs without a kernel would install fine and never boot: refuse it here. */
export function installedKernels(root: string): string[] {
  const modules = join(root, "lib/modules");
  if (!existsSync(modules)) return [];
  return readdirSync(modules)
    .filter((kver) => existsSync(join(root, "boot", `vmlinuz-${kver}`)))
    .sort();
}

function checkKernelPresent(ctx: StepContext): void {
  if (installedKernels(ctx.paths.targetRoot).length === 0) {
    throw new VerificationError(
      "the extracted root has no kernel: no /boot/vmlinuz-KVER matches a /lib/modules/KVER",
      "The payload is incomplete: rebuild it with the kernel package installed.",
    );
  }
}
