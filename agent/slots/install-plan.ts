import { outline, outlineLines } from "../steps/outline.ts";
import { BEFORE_UPGRADE_NAME, snapshotLvName } from "../snapshots/names.ts";
import type { InstallContext } from "./install-context.ts";
import { FIRST_WRITING_PHASE, INSTALL_PHASES, type Touches } from "./install-phases.ts";

/** What `va-agent install --dry-run` prints: the facts read, then every phase with exactly the entries the run performs. */
export function renderInstallPlan(ictx: InstallContext): string {
  return `${installPlanLines(ictx).join("\n")}\n`;
}

export function installPlanLines(ictx: InstallContext): string[] {
  const { head, release, slots, layout, lv, device, bootedLv } = ictx.facts;
  const { bundle, slotTarget, workDir } = ictx.setup;
  const image = head.manifest;
  const rootfs = image.payload.rootfs;
  const signature = head.signature.ok ? `signed by key ${head.signature.keyId} (${head.signature.keyFile})` : "NOT VERIFIED (--insecure)";
  const lines = [
    `va-agent install: ${release.to.name} ${release.to.release} into slot ${slots.target} from ${bundle}`,
    `  bundle     : slot image, ${signature}; rootfs ${rootfs.file} ${mib(rootfs.bytes)} (${rootfs.compression}), filesystem ${image.filesystem}`,
    `  release    : ${release.from.name} ${release.from.release} → ${release.to.release}${release.downgrade ? " (a DOWNGRADE, allowed by --allow-downgrade)" : ""}`,
    ictx.setup.sourceSlot
      ? `  source slot: ${slots.booted} (the rescue system reads it, mounted read-only at ${ictx.setup.root}), LV ${layout.vg}/${bootedLv}: never written`
      : `  booted slot: ${slots.booted} (va.slot=${slots.booted} on the kernel command line), LV ${layout.vg}/${bootedLv}: never written`,
    `  target slot: ${slots.target}, LV ${layout.vg}/${lv} (${device}), mounted at ${slotTarget} while it is written`,
    `  writes     : RAM (${workDir}), slot ${slots.target}'s LV, the slot state on the shared boot partition; nothing of slot ${slots.booted} or /data`,
    "",
  ];
  INSTALL_PHASES.forEach((phase, index) => {
    lines.push(`${String(index + 1).padStart(2)}. ${phase.name} [${phase.touches.flatMap((t) => touchesText(t, ictx) ?? []).join("; ")}]: ${phase.summary}`);
    lines.push(...outlineLines(outline(phase.entries(ictx)), "      "));
  });
  lines.push(
    "",
    `on a failure from ${FIRST_WRITING_PHASE} on: + umount --recursive ${slotTarget} (when mounted), the captured files removed from RAM; slot ${slots.target} stays marked bad, slot ${slots.booted} boots as before`,
  );
  return lines;
}

/** undefined: the phase does not write it on this box. */
function touchesText(touches: Touches, ictx: InstallContext): string | undefined {
  switch (touches) {
    case "booted-snapshot":
      return ictx.facts.layout.snapshots?.beforeInstall ? `writes a snapshot of slot ${ictx.facts.slots.booted}: LV ${ictx.facts.layout.vg}/${snapshotLvName(ictx.facts.bootedLv, BEFORE_UPGRADE_NAME)} and its record` : undefined;
    case "nothing":
      return "reads only";
    case "ram":
      return `writes RAM: ${ictx.setup.workDir}`;
    case "shared-boot":
      return "writes the slot state on the shared boot partition";
    case "slot":
      return `writes slot ${ictx.facts.slots.target}: LV ${ictx.facts.layout.vg}/${ictx.facts.lv}`;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
