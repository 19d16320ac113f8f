import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderGrubenv } from "../../agent/bootloader/grubenv.ts";
import { silentLog, type Log } from "../../agent/log/logger.ts";
import { installSetup, type InstallContext, type InstallSetup } from "../../agent/slots/install-context.ts";
import { readInstallFacts } from "../../agent/slots/install-facts.ts";
import type { SlotStateWriter } from "../../agent/slots/install-state.ts";
import { SLOT_UNIT_FILES } from "../../agent/slots/slot-units.ts";
import type { SlotName } from "../../agent/slots/slot-env.ts";
import { slotLayoutRecord } from "../../agent/slots/slot-layout.ts";
import { buildBundle } from "../../build/bundle.ts";
import { makeWorkspace, type Workspace } from "./bundle-fixture.ts";
import { FakeRunner } from "./fake-runner.ts";
import { DEBIAN_13, ROCKY_9 } from "./fixtures/distro.ts";
import { KVER } from "./fixtures/new-root.ts";
import { TEST_CARRY_OVER } from "./fixtures/shapes.ts";

export const GIB = 1024 ** 3;
export const SHARED_BOOT_UUID = "5a5a5a5a-1111-4222-8333-944445555666";
export const RUNNING_FSTAB = [
  "/dev/mapper/VA-root\t/\text4\tdefaults\t0\t1",
  `UUID=${SHARED_BOOT_UUID}\t/boot/va\text4\tdefaults\t0\t2`,
  "/dev/mapper/VA-data\t/data\text4\tdefaults\t0\t2",
  "# carried over by va-agent: filesystems the old system mounted from other disks and the network",
  "nas:/export\t/mnt/nas\tnfs\tdefaults,nofail\t0\t0",
  "# end of what va-agent carried over",
].join("\n");

/** A recording slot state writer: the transitions an install asks for, in order, also in the runner's calls (one timeline). */
export function recordingState(run: FakeRunner): SlotStateWriter & { calls: string[] } {
  const calls: string[] = [];
  const note = (call: string) => {
    calls.push(call);
    run.calls.push([`<${call}>`]);
  };
  return { calls, beginInstall: (slot) => note(`beginInstall ${slot}`), finishInstall: (slot, r) => note(`finishInstall ${slot} ${r.product} ${r.release}`) };
}

export interface SlotWorld {
  dir: string;
  ws: Workspace;
  bundle: string;
  setup: InstallSetup;
  run: FakeRunner;
  state: ReturnType<typeof recordingState>;
  log: Log;
  /** The running system's root (never written by an install). */
  root: string;
}

export interface WorldOptions {
  booted?: SlotName;
  release?: string;
  installed?: { name: string; release: string };
  /** The manifest document of the bundle, changed before it is built. */
  manifest?: (document: Record<string, unknown>) => void;
  /** What the fake `lvs` says the target LV holds. */
  lvBytes?: number;
  payload?: "debian" | "el";
  runningSlotBootEnv?: boolean;
  allowDowngrade?: boolean;
}

export function slotImageDocument(release = "13.1"): Record<string, unknown> {
  return { kind: "slot-image", version: 1, product: { name: "va", release }, payload: { rootfs: { file: "va.tar.xz", bytes: 1, sha256: "0".repeat(64), compression: "xz" } }, filesystem: "ext4", minSlotBytes: 2 * GIB };
}

/** A running slot system (temp root), a signed slot image, a fake runner that lays down the payload when tar extracts it. */
export async function slotWorld(options: WorldOptions = {}): Promise<SlotWorld> {
  const ws = makeWorkspace();
  const dir = mkdtempSync(join(tmpdir(), "va-slot-install-"));
  const root = join(dir, "running");
  layDownRunningSystem(root, ws, options);
  const document = slotImageDocument(options.release);
  options.manifest?.(document);
  const manifest = join(dir, "slot-image.json");
  writeFileSync(manifest, JSON.stringify(document));
  const bundle = join(dir, "slot.tar");
  await buildBundle({ manifest, key: ws.keys.privateKeyFile, out: bundle, files: new Map([["va.tar.xz", ws.files.get("va.tar.xz")!]]), slotImage: true });
  const setup = installSetup({ bundle, root, cmdline: `BOOT_IMAGE=/vmlinuz root=/dev/mapper/VA-${options.booted === "B" ? "back" : "root"} ro va.slot=${options.booted ?? "A"} panic=10 console=ttyS0`, keyring: ws.keyring, allowDowngrade: options.allowDowngrade, workDir: join(dir, "run/install"), slotTarget: join(dir, "run/slot-target") });
  const run = new FakeRunner()
    .respond((argv) => (argv[0] === "tar" && argv[1] === "--extract" && argv.some((a) => a === "--xz" || a === "--zstd") ? (layDownSlotPayload(setup.slotTarget, options.payload ?? "debian"), {}) : undefined))
    .respond((argv) => (argv[0] === "tar" && argv[1] === "--create" ? (writeFileSync(argv[2]!.slice("--file=".length), "archive"), {}) : undefined))
    .respond((argv) => (argv[0] === "lvm" && argv[1] === "lvs" ? { stdout: `  ${options.lvBytes ?? 4 * GIB}\n` } : undefined))
    .respond((argv) => (argv[0] === "ip" ? { stdout: "[]" } : undefined));
  return { dir, ws, bundle, setup, run, state: recordingState(run), log: silentLog(), root };
}

export async function installContext(world: SlotWorld): Promise<InstallContext> {
  return { setup: world.setup, facts: await readInstallFacts(world.setup), state: world.state };
}

function layDownRunningSystem(root: string, ws: Workspace, options: WorldOptions): void {
  const file = (path: string, content: string | Buffer, mode = 0o644) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content, { mode });
  };
  const installed = options.installed ?? { name: "va", release: "13.0" };
  file("etc/os-release", DEBIAN_13);
  file("etc/va-agent/installed.json", JSON.stringify({ product: installed, installedAt: "2025-01-01T00:00:00Z" }));
  file("etc/va-agent/slot-layout.json", slotLayoutRecord({ vg: "VA", slots: { A: "root", B: "back" }, carryOver: { ...TEST_CARRY_OVER, network: true } }));
  file("etc/va-agent/keys/vendor.pub", readFileSync(ws.keys.publicKeyFile));
  if (options.runningSlotBootEnv !== false) file("etc/va-agent/slot-boot.env", renderGrubenv(new Map([["va_cmdline", "console=ttyS0,115200"]]), 1024));
  file("etc/fstab", `${RUNNING_FSTAB}\n`);
  file("usr/sbin/va-agent", "#!/bin/sh\necho running agent\n", 0o755);
  for (const unit of SLOT_UNIT_FILES) file(unit.installTo.slice(1), `# ${unit.file}\n`);
  file("etc/hostname", "box-17\n");
  file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nadmin:x:1000:1000:admin:/home/admin:/bin/bash\n");
  file("etc/group", "root:x:0:\nadmin:x:1000:\n");
  file("etc/shadow", "root:$6$run$roothash:19000:0:99999:7:::\nadmin:$6$run$adminhash:19000:0:99999:7:::\n", 0o600);
  file("etc/gshadow", "root:*::\nadmin:!::\n", 0o600);
  file("srv/appdata/settings.conf", "answer=42\n");
}

/** What a faked `tar --extract` of the slot image leaves: a Debian root with its kernel links, or an EL one without. */
export function layDownSlotPayload(target: string, payload: "debian" | "el"): void {
  const file = (path: string, content: string) => {
    mkdirSync(join(target, path, ".."), { recursive: true });
    writeFileSync(join(target, path), content);
  };
  file("etc/os-release", payload === "el" ? ROCKY_9 : DEBIAN_13);
  file("etc/fstab", "UUID=build-host-root / ext4 defaults 0 1\nUUID=build-host-boot /boot ext4 defaults 0 2\ntmpfs /tmp tmpfs defaults,size=512m 0 0\n");
  file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nadmin:x:1000:1000:admin:/home/admin:/bin/bash\n");
  file("etc/group", "root:x:0:\nadmin:x:1000:\n");
  file("etc/shadow", "root:*:19000:0:99999:7:::\nadmin:!:19000:0:99999:7:::\n");
  file("etc/gshadow", "root:*::\nadmin:!::\n");
  file(`lib/modules/${KVER}/modules.dep`, "");
  file(`boot/vmlinuz-${KVER}`, "kernel");
  if (payload === "el") {
    file(`boot/initramfs-${KVER}.img`, "initramfs");
    file("etc/default/grub", 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="crashkernel=auto root=/dev/mapper/rl-root ro rhgb quiet"\n');
  } else {
    file(`boot/initrd.img-${KVER}`, "initramfs");
    symlinkSync(`boot/vmlinuz-${KVER}`, join(target, "vmlinuz"));
    symlinkSync(`boot/initrd.img-${KVER}`, join(target, "initrd.img"));
  }
}
