import { join } from "node:path";
import type { CapturedConfig } from "../carry-over/captured-config.ts";
import { DEFAULT_KEYRING_DIR } from "../bundle/keyring.ts";
import type { BundleOptions } from "../bundle/signed-manifest.ts";
import type { SlotPair } from "./install-booted-slot.ts";
import type { SlotImageHead } from "./install-bundle.ts";
import type { RunningFstab } from "./install-fstab.ts";
import type { ReleaseChange } from "./install-product.ts";
import type { SlotStateWriter } from "./install-state.ts";
import type { SlotLayout } from "./slot-layout.ts";
import type { SlotName } from "./slot-env.ts";
import { SHARED_BOOT_MOUNT } from "./slot-paths.ts";

/** Where an install reads and writes: "/" and /run on the box, temp trees in tests. */
export interface InstallSetup {
  bundle: string;
  /** The running system's root: what is captured, carried and copied comes from here; nothing is written to it. */
  root: string;
  /** The running kernel's command line (va.slot= says the booted slot). */
  cmdline: string;
  /** From the rescue system: `root` is this slot, mounted read-only (it plays the running system); the other slot is written. */
  sourceSlot?: SlotName;
  keyring: string;
  insecure: boolean;
  allowDowngrade: boolean;
  /** RAM (/run is a tmpfs): the captured configuration and paths archive, the install's log. */
  workDir: string;
  /** Where the inactive slot's filesystem is mounted while it is written. */
  slotTarget: string;
  /** The shared boot partition: the before-upgrade snapshot's record goes there. */
  bootMount: string;
}

export const INSTALL_WORK_DIR = "/run/va-agent/install";
export const SLOT_TARGET = "/run/va-agent/slot-target";

export function installSetup(options: { bundle: string; cmdline: string; sourceSlot?: SlotName; keyring?: string; insecure?: boolean; allowDowngrade?: boolean; root?: string; workDir?: string; slotTarget?: string; bootMount?: string }): InstallSetup {
  const root = options.root ?? "/";
  return {
    bundle: options.bundle,
    root,
    cmdline: options.cmdline,
    ...(options.sourceSlot ? { sourceSlot: options.sourceSlot } : {}),
    keyring: options.keyring ?? join(root, DEFAULT_KEYRING_DIR),
    insecure: options.insecure ?? false,
    allowDowngrade: options.allowDowngrade ?? false,
    workDir: options.workDir ?? INSTALL_WORK_DIR,
    slotTarget: options.slotTarget ?? SLOT_TARGET,
    bootMount: options.bootMount ?? SHARED_BOOT_MOUNT,
  };
}

export function bundleOptionsOf(setup: InstallSetup): BundleOptions {
  return { keyring: setup.keyring, insecure: setup.insecure };
}

/** Read before the plan is made (agent/slots/install-facts.ts): every refusal that needs no command happens there. */
export interface InstallFacts {
  head: SlotImageHead;
  release: ReleaseChange;
  slots: SlotPair;
  layout: SlotLayout;
  /** The LV being written (the inactive slot's), and its device-mapper node. */
  lv: string;
  device: string;
  /** The running slot's LV (never written). */
  bootedLv: string;
  fstab: RunningFstab;
  /** va_cmdline of the running slot's slot-boot.env; undefined: it has none, the new root's GRUB_CMDLINE_LINUX says it. */
  runningCmdline?: string;
}

/** Everything the install's entries close over; `captured` is filled by the capture check at run time. */
export interface InstallContext {
  setup: InstallSetup;
  facts: InstallFacts;
  state: SlotStateWriter;
  captured?: CapturedConfig;
}
