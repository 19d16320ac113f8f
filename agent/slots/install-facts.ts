import { existsSync } from "node:fs";
import { join } from "node:path";
import { InstallError } from "../errors/errors.ts";
import { readHostFile } from "../preflight/host-files.ts";
import { readInstalledProduct } from "../product/installed-product.ts";
import { AGENT_BINARY } from "./install-agent-files.ts";
import { runningSlotCmdline } from "./install-boot-env.ts";
import { slotsFromCmdline } from "./install-booted-slot.ts";
import { readSlotImageHead } from "./install-bundle.ts";
import { bundleOptionsOf, type InstallFacts, type InstallSetup } from "./install-context.ts";
import { runningFstab } from "./install-fstab.ts";
import { requireInstallableRelease } from "./install-product.ts";
import { SLOT_UNIT_FILES } from "./slot-units.ts";
import { logicalVolumeDevice } from "../plan/plan.ts";
import { readSlotLayout } from "./slot-layout.ts";
import { otherSlot } from "./slot-env.ts";

/**
 * Everything an install reads before it has a plan, in the order it is judged: the bundle's
 * signature (and that it is a slot image), the product and release against the installed one,
 * the booted slot and so the one written, the slot layout, the running fstab's shared boot line,
 * the files the new slot gets from the running one. Runs no command and writes nothing: every
 * refusal here leaves the system as it was, in --dry-run too.
 */
export async function readInstallFacts(setup: InstallSetup): Promise<InstallFacts> {
  const head = await readSlotImageHead(setup.bundle, bundleOptionsOf(setup));
  const release = requireInstallableRelease(readInstalledProduct(setup.root), head.manifest.product, setup.allowDowngrade);
  const slots = setup.sourceSlot ? { booted: setup.sourceSlot, target: otherSlot(setup.sourceSlot) } : slotsFromCmdline(setup.cmdline);
  const layout = readSlotLayout(setup.root);
  const fstab = runningFstab(readHostFile(setup.root, "etc/fstab") ?? "");
  requireRunningFiles(setup.root);
  const lv = layout.slots[slots.target];
  const runningCmdline = runningSlotCmdline(setup.root);
  return { head, release, slots, layout, lv, device: logicalVolumeDevice(layout.vg, lv), bootedLv: layout.slots[slots.booted], fstab, ...(runningCmdline === undefined ? {} : { runningCmdline }) };
}

/** What the new slot takes from the running one must be there before the slot is touched. */
function requireRunningFiles(root: string): void {
  const missing = [AGENT_BINARY, ...SLOT_UNIT_FILES.map((unit) => unit.installTo.slice(1))].filter((path) => !existsSync(join(root, path)));
  if (missing.length === 0) return;
  throw new InstallError(
    `the running system lacks what the new slot takes from it: ${missing.map((path) => `/${path}`).join(", ")}`,
    "The agent and its slot units are installed by the migration (and by each install): restore them from the running release's slot image, then install again; nothing was changed.",
    { missing },
  );
}
