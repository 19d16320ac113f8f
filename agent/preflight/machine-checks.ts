import type { GptLayout } from "../disk/gpt-backup.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { describeMemoryNeed, memoryNeed } from "../plan/memory.ts";
import { haveMiB, inhibitor, needMiB, passed, type PreflightCheck } from "./check.ts";
import type { StageFacts } from "./stage-facts.ts";

/** The agent binary is built for bun's x64 baseline target. */
export const REQUIRED_CPU_FLAGS = ["sse4_2", "popcnt"] as const;
const BIOS_BOOT_TYPE = "EF02";

export function checkArchitecture(facts: StageFacts): PreflightCheck {
  const title = "Machine architecture";
  if (facts.arch === "x86_64") return passed("architecture", title, "x86_64");
  return inhibitor(
    "architecture",
    title,
    `the machine is ${facts.arch || "of unknown architecture"}; the new system and the agent are built for x86_64 only`,
    "Migrate this appliance by reinstalling it on x86_64 hardware or a VM; an in-place migration is not possible.",
  );
}

export function checkCpuBaseline(facts: StageFacts): PreflightCheck {
  const title = "CPU instruction set";
  const missing = REQUIRED_CPU_FLAGS.filter((flag) => !facts.cpuFlags.includes(flag));
  if (missing.length === 0) return passed("cpu-baseline", title, `the CPU has ${REQUIRED_CPU_FLAGS.join(" and ")}`);
  return inhibitor(
    "cpu-baseline",
    title,
    `the CPU lacks ${missing.join(" and ")} (from /proc/cpuinfo); the migration agent needs ${REQUIRED_CPU_FLAGS.join(" and ")} and would stop with "invalid opcode" in the tiny system`,
    "Give the VM a CPU model with SSE4.2 and POPCNT (e.g. QEMU `-cpu Nehalem` or newer, or host CPU passthrough; turn off EVC/CPU compatibility modes that hide them), then run stage again.",
  );
}

/** The rule the tiny system's plan applies too; the carried configuration is not captured yet, the plan counts it. */
export function checkRam(facts: StageFacts, manifest: Readonly<Manifest>): PreflightCheck {
  const title = "Memory for the migration";
  const need = memoryNeed(manifest);
  const needed = need.ramBytes;
  const sums = describeMemoryNeed(need);
  if (facts.ramBytes >= needed) return passed("ram", title, `${haveMiB(facts.ramBytes)} of RAM; needs ${sums}`);
  return inhibitor(
    "ram",
    title,
    `the machine has ${haveMiB(facts.ramBytes)} of RAM; the migration needs ${sums}, ${needMiB(needed - facts.ramBytes)} more`,
    `Give the appliance at least ${needMiB(needed)} of memory (add ${needMiB(needed - facts.ramBytes)}) for the migration, then run stage again.`,
  );
}

export function checkFirmware(facts: StageFacts, manifest: Readonly<Manifest>, layout: GptLayout): PreflightCheck {
  const title = "Firmware boot mode";
  const wanted = manifest.target.firmware;
  if (wanted === "bios" && !layout.partitions.some((p) => p.typeCode === BIOS_BOOT_TYPE)) {
    return inhibitor(
      "firmware",
      title,
      "the bundle's layout is for BIOS boot but its partition table has no BIOS boot partition (type EF02)",
      "The bundle is inconsistent: get a corrected bundle from the vendor.",
    );
  }
  if (facts.firmware === wanted) return passed("firmware", title, `the machine boots in ${label(facts.firmware)} mode, as the new layout expects`);
  return inhibitor(
    "firmware",
    title,
    `the machine boots in ${label(facts.firmware)} mode (${facts.firmware === "uefi" ? "/sys/firmware/efi exists" : "no /sys/firmware/efi"}); the new layout boots with ${label(wanted)} (GRUB for BIOS, BIOS boot partition)`,
    facts.firmware === "uefi"
      ? "Switch the VM or the machine's firmware to legacy BIOS (CSM) boot, check the old system still boots, then run stage again."
      : "Switch the firmware to UEFI boot, then run stage again.",
  );
}

const label = (firmware: string) => (firmware === "uefi" ? "UEFI" : "legacy BIOS");
