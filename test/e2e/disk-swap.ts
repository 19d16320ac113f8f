// Issue 13 item 3's proof: a power cut in the middle of extract-rootfs on a two-disk box, and the
// next boot enumerates the disks the other way round. The resume must find the target disk by its
// identity, not by the name it had, finish there, and never write to the other disk — which has the
// same size, no serial (virtio-blk) and a GPT with two partitions, the case where a name-based
// resume wrote to the wrong disk.

import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../assets/host.ts";
import type { NewOs } from "../assets/new-os.ts";
import type { OldAppliance } from "../assets/old-appliance.ts";
import { TINY_CMDLINE } from "../../agent/bootloader/tiny-cmdline.ts";
import { checkNewSystem, parseProbeFacts, type Check } from "./probe-facts.ts";
import { startVm, waitExit, ENTROPY } from "./qemu.ts";
import { failure, NEW_SYSTEM_UP_OR_STUCK, type ScenarioResult, type Timing } from "./scenario.ts";
import type { TinySystem } from "./tiny-system.ts";

/** Far enough into the extraction that the new root is half written, the cut the issue reports. */
const CUT_AT = /extract-rootfs: extracting \S+: 40%/;

export async function resumeOnSwappedDisks(shared: { newOs: NewOs; old: OldAppliance; stagedDisk: string; tiny: TinySystem; artifacts: string }): Promise<ScenarioResult> {
  const variant = { name: "resume-disks-swapped", bus: "virtio" as const, sizeFactor: 1, compression: "zstd" as const };
  const dir = join(shared.artifacts, variant.name);
  const timings: Timing[] = [];
  try {
    await run(["mkdir", "-p", dir]);
    const target = join(dir, "target.qcow2");
    await run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", shared.stagedDisk, target, String(shared.newOs.layoutBytes)]);
    const other = await otherDisk(join(dir, "other.img"), shared.newOs.layoutBytes);
    const otherBefore = await sha256(other);

    const first = tinyBoot("swap-tiny-1", dir, [target, other], shared.tiny);
    await first.waitFor(CUT_AT, 1800);
    await first.kill();
    const cutAt = first.log();
    timings.push({ phase: "first boot: kernel start → cut in extract-rootfs", seconds: (Date.now() - first.startedAt) / 1000 });

    const second = tinyBoot("swap-tiny-2", dir, [other, target], shared.tiny);
    const resumed = await second.waitFor(/resuming from the store on (\S+)|FAILED with exit code \d+[^\n]*/, 900);
    const finished = await second.waitFor(/migration finished|FAILED with exit code \d+[^\n]*/, 2400);
    await waitExit(second, 180).catch(() => second.kill());
    const secondLog = second.log();
    timings.push({ phase: "second boot (disks swapped): kernel start → migration finished", seconds: finished.seconds });

    const newSystem = startVm({ name: "swap-new", disks: [{ path: target, format: "qcow2", bus: "virtio" }], nic: { mac: shared.old.facts.mac }, noReboot: true, serialLog: join(dir, "serial-new.log") });
    const up = await newSystem.waitFor(NEW_SYSTEM_UP_OR_STUCK, 900);
    if (up.match[0].startsWith("VA-PROBE")) await newSystem.waitFor(/VA-PROBE-END/, 300);
    await waitExit(newSystem, 180).catch(() => newSystem.kill());
    timings.push({ phase: "new system up (probe running)", seconds: up.seconds });
    const serial = readFileSync(join(dir, "serial-new.log"), "latin1");
    const otherAfter = await sha256(other);

    const checks: Check[] = [
      { name: "the first boot migrated /dev/vda and was cut in extract-rootfs", ok: /migrating \/dev\/vda/.test(cutAt) && CUT_AT.test(cutAt), seen: line(cutAt, /migrating \/dev\/\w+/) },
      { name: "the second boot resumed from the store and migrates the target, now /dev/vdb", ok: resumed.match[0].startsWith("resuming from the store") && /migrating \/dev\/vdb;/.test(secondLog), seen: `${resumed.match[0]} | ${line(secondLog, /migrating \/dev\/\w+/)}` },
      { name: "after the resume, no agent line names /dev/vda but the rename notice", ok: namingOldName(secondLog).length === 0, seen: namingOldName(secondLog)[0] ?? line(secondLog, /was \/dev\/vda and is/) },
      { name: "the migration finished", ok: finished.match[0] === "migration finished", seen: finished.match[0] },
      { name: "the other disk is byte for byte as before", ok: otherBefore === otherAfter, seen: `${otherBefore.slice(0, 12)}… → ${otherAfter.slice(0, 12)}…` },
      ...checkNewSystem(parseProbeFacts(serial), serial, { minDataBytes: 512 * 1024 ** 2, diskBus: "virtio" }),
    ];
    return { variant, checks, timings };
  } catch (error) {
    return { variant, checks: [], timings, ...failure(error) };
  }
}

function tinyBoot(name: string, dir: string, disks: string[], tiny: TinySystem) {
  return startVm({
    name,
    disks: disks.map((path) => ({ path, format: path.endsWith(".qcow2") ? ("qcow2" as const) : ("raw" as const), bus: "virtio" as const })),
    kernel: tiny.kernel,
    initrd: tiny.initramfs,
    append: `console=ttyS0,115200 ${TINY_CMDLINE} va.after=poweroff`,
    noReboot: true,
    serialLog: join(dir, `serial-${name}.log`),
    extraArgs: ENTROPY,
  });
}

/** Same size as the target, no serial, a GPT with two partitions and an ext4 holding a file. */
async function otherDisk(path: string, bytes: number): Promise<string> {
  await run(["truncate", "-s", String(bytes), path]);
  await run(["sgdisk", "-o", "-n", "1:2048:+64M", "-n", "2:0:+512M", "-t", "2:8300", path]);
  const fs = `${path}.p2`;
  await run(["truncate", "-s", String(512 * 1024 ** 2), fs]);
  await run(["mkfs.ext4", "-q", "-F", "-L", "otherdata", fs]);
  const start = 2048 + (64 * 1024 ** 2) / 512;
  await run(["dd", `if=${fs}`, `of=${path}`, "bs=512", `seek=${start}`, "conv=notrunc,sparse", "status=none"]);
  await run(["rm", "-f", fs]);
  return path;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Agent lines of the resumed boot that name the target's old kernel name (the notice of the rename excepted). */
function namingOldName(log: string): string[] {
  return log
    .split("\n")
    .filter((l) => /\[va-agent [\d:]+\]/.test(l) && /\/dev\/vda\d*\b/.test(l) && !/was \/dev\/vda and is \/dev\/vdb/.test(l))
    .map((l) => l.trim().slice(0, 200));
}

function line(text: string, pattern: RegExp): string {
  return text.split("\n").find((l) => pattern.test(l))?.trim().slice(0, 200) ?? "(not found)";
}
