import { SLOT_AGENT_PATH } from "./slot-units.ts";
import { mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { DEFAULT_KEYRING_DIR } from "../bundle/keyring.ts";
import { copyFileAtomically, writeFileAtomically } from "../disk/write-file-atomically.ts";
import { INSTALLED_PRODUCT_FILE, installedProductRecord } from "../product/installed-product.ts";
import { write, type Entry } from "../steps/entry.ts";
import type { InstallContext } from "./install-context.ts";
import { SLOT_LAYOUT_FILE, slotLayoutRecord } from "./slot-layout.ts";

/** The agent runs from every slot at /usr/sbin/va-agent (it marks the slot good, installs the next one). */
export const AGENT_BINARY = SLOT_AGENT_PATH.slice(1);
const KEYRING = DEFAULT_KEYRING_DIR.replace(/^\/+/, "");

/** The trusted keys of the running system: the keys that verified this image verify the next one. */
export function runningKeys(root: string): string[] {
  try {
    return readdirSync(join(root, KEYRING)).filter((name) => name.endsWith(".pub")).sort();
  } catch {
    return [];
  }
}

/** The trusted keys under `fromRoot` copied into the slot root `toRoot` (0644, each renamed whole). */
export function copyTrustedKeys(fromRoot: string, toRoot: string): void {
  const keys = runningKeys(fromRoot);
  if (keys.length > 0) mkdirSync(join(toRoot, KEYRING), { recursive: true });
  for (const key of keys) copyFileAtomically(join(fromRoot, KEYRING, key), join(toRoot, KEYRING, key), { mode: 0o644 });
}

/** The running agent, its keyring, and the records a slot carries: the new release, the slot layout. */
export function agentFileEntries(ictx: InstallContext): Entry[] {
  const { root, slotTarget } = ictx.setup;
  const to = ictx.facts.release.to;
  const into = (path: string) => {
    const destination = join(slotTarget, path);
    mkdirSync(dirname(destination), { recursive: true });
    return destination;
  };
  return [
    write(join(slotTarget, AGENT_BINARY), `the running agent, copied from /${AGENT_BINARY}`, () => copyFileAtomically(join(root, AGENT_BINARY), into(AGENT_BINARY), { mode: 0o755 })),
    write(join(slotTarget, KEYRING, "*.pub"), `the running system's trusted keys (/${KEYRING}: ${runningKeys(root).join(", ") || "none"})`, () => copyTrustedKeys(root, slotTarget)),
    write(join(slotTarget, INSTALLED_PRODUCT_FILE), `product ${to.name} ${to.release}`, () =>
      writeFileAtomically(into(INSTALLED_PRODUCT_FILE), installedProductRecord(to, new Date().toISOString()), { mode: 0o644 }),
    ),
    write(join(slotTarget, SLOT_LAYOUT_FILE), `the slot layout (VG ${ictx.facts.layout.vg}, slots ${ictx.facts.layout.slots.A} and ${ictx.facts.layout.slots.B}), as the running system has it`, () =>
      writeFileAtomically(into(SLOT_LAYOUT_FILE), slotLayoutRecord(ictx.facts.layout), { mode: 0o644 }),
    ),
  ];
}
