// Slot-image payloads of later releases for the A/B slot scenarios: the new OS's root as built,
// plus a small overlay that makes each release what a scenario needs. Cached outside the repo.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cachedAsset } from "./cache.ts";
import { run, sha256File } from "./host.ts";
import type { NewOs } from "./new-os.ts";

export type SlotRelease = "good" | "panics" | "unhealthy";

export interface SlotImagePayload {
  release: string;
  file: string;
  bytes: number;
  sha256: string;
}

/** The release each variant claims; all newer than the migrated 13.0. */
export const SLOT_RELEASES: Record<SlotRelease, string> = { good: "13.1", panics: "13.2", unhealthy: "13.3" };

const TAR_ARGS = [
  "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls",
  "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "--exclude=./run/*", "--exclude=./tmp/*",
];

/**
 * good: a marker file /etc/va-test-release. panics: /initrd.img names garbage, so its kernel
 * cannot mount a root and panics (panic=10 reboots). unhealthy: a vendor health check that
 * always fails, required by boot-complete.target.
 */
function overlay(kind: SlotRelease, dir: string): string[] {
  const members: string[] = [];
  const file = (path: string, text: string) => {
    mkdirSync(join(dir, path, ".."), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, path), text, { mode: 0o644 });
    members.push(`./${path}`);
  };
  file("etc/va-test-release", `${SLOT_RELEASES[kind]}\n`);
  if (kind === "panics") {
    file("boot/initrd-broken.img", "this is not an initramfs\n".repeat(4096));
    symlinkSync("boot/initrd-broken.img", join(dir, "initrd.img"));
    members.push("./initrd.img");
  }
  if (kind === "unhealthy") {
    file("etc/systemd/system/va-test-unhealthy.service", UNHEALTHY_UNIT);
    mkdirSync(join(dir, "etc/systemd/system/boot-complete.target.requires"), { recursive: true });
    symlinkSync("../va-test-unhealthy.service", join(dir, "etc/systemd/system/boot-complete.target.requires/va-test-unhealthy.service"));
    members.push("./etc/systemd/system/boot-complete.target.requires/va-test-unhealthy.service");
  }
  return members;
}

const UNHEALTHY_UNIT = `[Unit]
Description=TEST-ONLY vendor health check that always fails
After=multi-user.target
Before=boot-complete.target
OnFailure=va-slot-failed.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "VA-TEST: vendor health check fails on purpose"; exit 1'
`;

export async function buildSlotImage(newOs: NewOs, kind: SlotRelease): Promise<SlotImagePayload> {
  const recipe = ["slot-image v1", `root=${newOs.rootDir}`, `payload=${newOs.payloadSha256.zst}`, kind, `tar ${TAR_ARGS.join(" ")}`, "zstd -T2 -3", UNHEALTHY_UNIT];
  const dir = await cachedAsset(`slot-image-${kind}`, recipe, async (tmp) => {
    const extra = join(tmp, "overlay");
    mkdirSync(extra, { recursive: true });
    const members = overlay(kind, extra);
    const tar = join(tmp, "rootfs.tar");
    // The overlay's files (never its directories: their modes would win) come after the root's members; extraction lets the later one win.
    await run(["tar", ...TAR_ARGS, "-cf", tar, "-C", newOs.rootDir, ".", "-C", extra, ...members]);
    await run(["zstd", "-T2", "-3", "-q", "--rm", tar, "-o", join(tmp, "rootfs.tar.zst")]);
    const sum = await sha256File(join(tmp, "rootfs.tar.zst"));
    writeFileSync(join(tmp, "payload.json"), JSON.stringify({ release: SLOT_RELEASES[kind], bytes: sum.bytes, sha256: sum.sha256 }));
  });
  const info = JSON.parse(readFileSync(join(dir, "payload.json"), "utf8")) as Omit<SlotImagePayload, "file">;
  return { ...info, file: join(dir, "rootfs.tar.zst") };
}
