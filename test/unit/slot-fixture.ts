import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderGrubenv } from "../../agent/bootloader/grubenv.ts";
import { varsWithSlotEnv, type SlotEnv, type SlotName } from "../../agent/slots/slot-env.ts";
import { emptySlotMetadata, withSlotRecord, writeSlotMetadata, type SlotMetadata, type SlotRecord } from "../../agent/slots/slot-metadata.ts";
import { grubenvPath } from "../../agent/slots/slot-paths.ts";
import type { SlotState } from "../../agent/slots/slot-store.ts";

export const NOW = "2026-12-01T10:00:00.000Z";

/** A slot env written compactly: env("A B", {A: [ok, tries], B: [ok, tries]}), no rescue task pending. */
export function env(order: string, slots: Record<SlotName, [boolean, number]>): SlotEnv {
  return { order: order.split(" ") as SlotName[], ok: { A: slots.A[0], B: slots.B[0] }, tries: { A: slots.A[1], B: slots.B[1] }, rescueTask: null };
}

export function installed(product: string, release: string, extra: Partial<SlotRecord> = {}): Partial<SlotRecord> {
  return { state: "installed", product, release, installedAt: "2026-11-01T09:00:00.000Z", ...extra };
}

export function metadata(slots: Partial<Record<SlotName, Partial<SlotRecord>>>, tries = 3): SlotMetadata {
  let result = emptySlotMetadata({ tries });
  for (const [slot, record] of Object.entries(slots) as Array<[SlotName, Partial<SlotRecord>]>) result = withSlotRecord(result, slot, record);
  return result;
}

/** A migrated box after its first commit: A holds va-demo 13.0 (good), B is empty (bad). */
export function migratedBox(): SlotState {
  return { env: env("A B", { A: [true, 0], B: [false, 0] }), metadata: metadata({ A: installed("va-demo", "13.0", { committedAt: "2026-11-01T09:05:00.000Z" }) }) };
}

/** Both slots installed and committed, A running and first: the state a late rollback starts from. */
export function twoReleaseBox(): SlotState {
  return {
    env: env("A B", { A: [true, 1], B: [true, 0] }),
    metadata: metadata({ A: installed("va-demo", "14.0", { committedAt: NOW }), B: installed("va-demo", "13.0", { committedAt: "2026-11-01T09:05:00.000Z" }) }),
  };
}

/** A shared boot partition in a tmp dir: grub/grubenv (with a foreign variable) and va-agent/slots.json. */
export function bootDirWith(state: SlotState, extraVars: Array<[string, string]> = [["saved_entry", "0"]]): string {
  const dir = mkdtempSync(join(tmpdir(), "va-slot-boot-"));
  mkdirSync(join(dir, "grub"), { recursive: true });
  writeFileSync(grubenvPath(dir), renderGrubenv(varsWithSlotEnv(new Map(extraVars), state.env), 1024));
  writeSlotMetadata(dir, state.metadata);
  return dir;
}
