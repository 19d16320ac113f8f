import { createHash } from "node:crypto";
import type { PlanContext, Step } from "../steps/step.ts";
import { renameDeep } from "./target-disk.ts";

/** What a finished step's journal entry is keyed on: a resume skips the step only when these are the same. */
export function inputsDigest(ctx: Pick<PlanContext, "manifest" | "plan">, step: Step): string {
  const { manifest, plan } = ctx;
  // Under one name for the disk: a resume that finds it renamed (sda → sdb) must skip what is done.
  const planned = renameDeep({ disk: plan.disk, partitions: plan.partitions, lvm: plan.lvm, filesystems: plan.filesystems }, plan.disk.path, "/dev/target-disk");
  const inputs = { step: step.name, manifest, ...planned };
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}
