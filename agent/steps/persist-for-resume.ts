import { existsSync, mkdirSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CARRY_OVER_ARCHIVE_FILE } from "../carry-over/captured-config.ts";
import { LayoutError } from "../errors/errors.ts";
import type { FileRef, Manifest } from "../manifest/manifest.ts";
import { CAPTURED_CONFIG_FILE, MANIFEST_FILE, PLAN_FILE } from "../paths.ts";
import { copyVerified, isIntact, RAM_COPY_REMEDY, sha256File } from "../payload/copy-verified.ts";
import { readStoreMeta, STORE_META_FILE, type StoreMeta, storeDir, storeMountCommand, writeStoreMeta } from "../resume/store.ts";
import { check, command, type Entry, mount, write } from "./entry.ts";
import type { PlanContext, Step, StepContext } from "./step.ts";

/**
 * Makes the new disk able to finish the migration without RAM: mounts the resume LV (slot B, not
 * used by the new system yet) and copies there, verifying SHA-256 while copying, everything a
 * resumed run needs. The commit marker store.json is written last; from then on every journal save
 * lands in the store too (migrate.ts attaches it).
 */
export const persistForResume: Step = {
  name: "persist-for-resume",
  summary: "persist payload, plan, manifest and journal on the resume LV of the new disk",
  destructive: true,
  resumeStore: "persists",
  reads: (manifest) => storedFiles(manifest),
  applies: (ctx) => Boolean(ctx.plan.resume) || "the manifest has no unmounted LV for a resume store: a power cut from now on needs manual recovery",
  entries: (ctx: PlanContext): Entry[] => {
    const dir = storeDir(ctx.paths);
    const { payloadDir, workDir } = ctx.paths;
    return [
      mount(storeMountCommand(ctx)),
      // prepare() leaves both in RAM; a context built otherwise (tests, `va-agent step` tooling) may not.
      writeUnlessThere(join(workDir, PLAN_FILE), "the plan", () => JSON.stringify(ctx.plan, null, 2)),
      writeUnlessThere(join(payloadDir, MANIFEST_FILE), "the manifest", () => JSON.stringify(ctx.manifest, null, 2)),
      check(`the resume volume ${ctx.plan.resume!.device} has room for the store`, (run) => {
        mkdirSync(dir, { recursive: true });
        checkSpace(run, dir, storeMembers(run));
      }),
      ...possibleMembers(ctx).map((member) => copyToStore(ctx, member)),
      command(["sync"]),
      write(join(dir, STORE_META_FILE), "the commit marker: every file of the store with its SHA-256, and the disk by its identity", async (run) => {
        const files: StoreMeta["files"] = [];
        for (const member of storeMembers(run)) {
          const ref = member.ref ?? (await refOf(member.source));
          files.push({ file: member.name, bytes: ref.bytes, sha256: ref.sha256 });
        }
        const disk = { path: run.plan.disk.path, identity: { ...run.plan.disk.identity, partitionTableIds: [run.plan.layout.diskGuid] } };
        writeStoreMeta(dir, { format: 1, createdAt: readStoreMeta(dir)?.createdAt ?? new Date().toISOString(), device: run.plan.resume!.device, disk, files });
        run.log.info(`resume store on ${run.plan.resume!.device}: ${files.map((f) => f.file).join(", ")}`);
      }),
      command(["sync"]),
    ];
  },
};

function writeUnlessThere(path: string, what: string, content: () => string): Entry {
  return write(path, `${what}, when not in RAM`, () => writeFileSync(path, content()), { says: `${path} is there`, holds: () => existsSync(path) });
}

function copyToStore(ctx: PlanContext, member: Member): Entry {
  const destination = join(storeDir(ctx.paths), member.name);
  return write(
    destination,
    `copied from ${member.source}, SHA-256 verified while copying`,
    async (run) => {
      mkdirSync(storeDir(run.paths), { recursive: true });
      const ref = member.ref ?? (await refOf(member.source));
      await copyVerified(member.source, destination, ref, RAM_COPY_REMEDY, ref.bytes > 64 * 1024 ** 2 ? run.log.progress(`persisting ${member.name}`) : undefined);
    },
    {
      says: member.optional ? `${member.source} is not in RAM, or ${destination} is intact already` : `${destination} is intact already`,
      holds: async () => (member.optional && !existsSync(member.source)) || (existsSync(member.source) && (await isIntact(destination, member.ref ?? (await refOf(member.source))))),
    },
  );
}

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
  /** In the store only when in RAM. */
  optional?: boolean;
}

/** What the store may hold, in order: manifest, plan, rootfs archive, partition table, tiny system, carried configuration. */
function possibleMembers(ctx: PlanContext): Member[] {
  const { payloadDir, workDir } = ctx.paths;
  const { rootfs } = ctx.manifest.payload;
  const table = ctx.manifest.target.partitionTable;
  const members: Member[] = [
    { name: MANIFEST_FILE, source: join(payloadDir, MANIFEST_FILE) },
    { name: PLAN_FILE, source: join(workDir, PLAN_FILE) },
    { name: rootfs.file, source: join(payloadDir, rootfs.file), ref: rootfs },
    // Not needed to resume (partition-disk is done by now, and the plan holds the parsed layout): kept for inspection.
    { name: table.file, source: join(payloadDir, table.file), optional: true, ...(table.bytes !== undefined ? { ref: { ...table, bytes: table.bytes } } : {}) },
  ];
  // The tiny system itself: arm-resume-boot can be redone from the store, and a tiny system booted
  // from other media (rescue) finds everything it needs on the disk.
  const tiny = ctx.manifest.tinySystem;
  for (const ref of tiny ? [tiny.kernel, tiny.initramfs] : []) {
    const source = join(payloadDir, ref.file);
    members.push({ name: ref.file, source, ...(ref.bytes !== undefined ? { ref: { ...ref, bytes: ref.bytes } } : {}) });
  }
  for (const name of [CAPTURED_CONFIG_FILE, CARRY_OVER_ARCHIVE_FILE]) members.push({ name, source: join(payloadDir, name), optional: true });
  return members;
}

/** The members this run has. */
function storeMembers(ctx: PlanContext): Member[] {
  return possibleMembers(ctx).filter((member) => !member.optional || existsSync(member.source));
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
