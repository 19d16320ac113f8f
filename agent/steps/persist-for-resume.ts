import { existsSync, mkdirSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CARRY_OVER_ARCHIVE_FILE } from "../carry-over/captured-config.ts";
import { ensureMounted } from "../disk/mounts.ts";
import { LayoutError } from "../errors/errors.ts";
import type { FileRef, Manifest } from "../manifest/manifest.ts";
import { CAPTURED_CONFIG_FILE, MANIFEST_FILE, PLAN_FILE } from "../paths.ts";
import { copyVerified, isIntact, RAM_COPY_REMEDY, sha256File } from "../payload/copy-verified.ts";
import { PERSIST_STEP, readStoreMeta, type StoreMeta, storeDir, storeMountCommand, writeStoreMeta } from "../workflow/resume-store.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/**
 * Makes the new disk able to finish the migration without RAM: mounts the resume LV (slot B, not
 * used by the new system yet) and copies there, verifying SHA-256 while copying, everything a
 * resumed run needs. The commit marker store.json is written last; from then on every journal save
 * lands in the store too (migrate.ts attaches it).
 */
export const persistForResume: Step = {
  name: PERSIST_STEP,
  summary: "persist payload, plan, manifest and journal on the resume LV of the new disk",
  destructive: true,
  reads: (manifest) => storedFiles(manifest),
  commands: (ctx: PlanContext) => (ctx.plan.resume ? [storeMountCommand(ctx), ["sync"]] : []),
  async run(ctx) {
    if (!ctx.plan.resume) {
      ctx.log.warn("the manifest has no unmounted LV for a resume store: a power cut from now on needs manual recovery");
      return;
    }
    await ensureMounted(ctx.run, storeMountCommand(ctx));
    const dir = storeDir(ctx.paths);
    mkdirSync(dir, { recursive: true });
    const members = storeMembers(ctx);
    checkSpace(ctx, dir, members);
    const files: StoreMeta["files"] = [];
    for (const member of members) {
      const ref = member.ref ?? (await refOf(member.source));
      const destination = join(dir, member.name);
      if (!(await isIntact(destination, ref))) {
        await copyVerified(member.source, destination, ref, RAM_COPY_REMEDY, ref.bytes > 64 * 1024 ** 2 ? ctx.log.progress(`persisting ${member.name}`) : undefined);
      }
      files.push({ file: member.name, bytes: ref.bytes, sha256: ref.sha256 });
    }
    await ctx.run.run(["sync"]);
    const disk = { path: ctx.plan.disk.path, identity: { ...ctx.plan.disk.identity, partitionTableIds: [ctx.plan.layout.diskGuid] } };
    writeStoreMeta(dir, { format: 1, createdAt: readStoreMeta(dir)?.createdAt ?? new Date().toISOString(), device: ctx.plan.resume.device, disk, files });
    await ctx.run.run(["sync"]);
    ctx.log.info(`resume store on ${ctx.plan.resume.device}: ${files.map((f) => f.file).join(", ")}`);
  },
};

/** The payload files the store holds (besides manifest and plan), whether or not this run has each. */
function storedFiles(manifest: Readonly<Manifest>): string[] {
  const tiny = manifest.tinySystem;
  return [manifest.payload.rootfs.file, manifest.target.partitionTable.file, ...(tiny ? [tiny.kernel.file, tiny.initramfs.file] : []), CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE];
}

interface Member {
  name: string;
  source: string;
  /** Known digest (from the manifest); otherwise computed from the source. */
  ref?: FileRef & { bytes: number };
}

function storeMembers(ctx: StepContext): Member[] {
  const { payloadDir, workDir } = ctx.paths;
  // prepare() leaves both in RAM; a context built otherwise (tests, `va-agent step` tooling) may not.
  if (!existsSync(join(workDir, PLAN_FILE))) writeFileSync(join(workDir, PLAN_FILE), JSON.stringify(ctx.plan, null, 2));
  if (!existsSync(join(payloadDir, MANIFEST_FILE))) writeFileSync(join(payloadDir, MANIFEST_FILE), JSON.stringify(ctx.manifest, null, 2));
  const { rootfs } = ctx.manifest.payload;
  const table = ctx.manifest.target.partitionTable;
  const members: Member[] = [
    { name: MANIFEST_FILE, source: join(payloadDir, MANIFEST_FILE) },
    { name: PLAN_FILE, source: join(workDir, PLAN_FILE) },
    { name: rootfs.file, source: join(payloadDir, rootfs.file), ref: rootfs },
  ];
  // Not needed to resume (partition-disk is done by now, and the plan holds the parsed layout): kept for inspection.
  if (existsSync(join(payloadDir, table.file))) {
    members.push({ name: table.file, source: join(payloadDir, table.file), ...(table.bytes !== undefined ? { ref: { ...table, bytes: table.bytes } } : {}) });
  }
  // The tiny system itself: arm-resume-boot can be redone from the store, and a tiny system booted
  // from other media (rescue) finds everything it needs on the disk.
  const tiny = ctx.manifest.tinySystem;
  for (const ref of tiny ? [tiny.kernel, tiny.initramfs] : []) {
    const source = join(payloadDir, ref.file);
    members.push({ name: ref.file, source, ref: { ...ref, bytes: ref.bytes ?? (existsSync(source) ? statSync(source).size : 0) } });
  }
  for (const name of [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE]) {
    if (existsSync(join(payloadDir, name))) members.push({ name, source: join(payloadDir, name) });
  }
  return members;
}

async function refOf(path: string): Promise<FileRef & { bytes: number }> {
  return { file: path, bytes: statSync(path).size, sha256: await sha256File(path) };
}

function checkSpace(ctx: StepContext, dir: string, members: Member[]): void {
  const needed = members.reduce((sum, m) => sum + (existsSync(m.source) ? statSync(m.source).size : 0), 0);
  const fs = statfsSync(dir);
  const available = fs.bavail * fs.bsize;
  if (needed > available) {
    throw new LayoutError(
      `the resume volume ${ctx.plan.resume!.device} has ${available} bytes free, the resume store needs ${needed}`,
      "The disk is already repartitioned: finish by hand from this shell with `va-agent step NAME` for each remaining step (`va-agent status` lists them), then make the resume LV larger than the payload in the manifest.",
    );
  }
}
