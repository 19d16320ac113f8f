// What a serial console says about a guest that will never reach what a test waits for: a kernel
// panic or oops, GRUB's rescue prompt, an emergency shell. Pure: the harness feeds it the console
// text as it arrives and ends the wait at the first such event, with its reason.

export type FatalKind = "kernel panic" | "kernel oops" | "GRUB rescue prompt" | "emergency shell";

export interface EmulatorFlake {
  /** Stable name for summaries and reruns. */
  signature: string;
  why: string;
}

export interface FatalEvent {
  kind: FatalKind;
  /** The console line that shows it (trimmed). */
  line: string;
  /** Offset of the event in the text searched. */
  index: number;
  /** Set when the event has the signature of a known emulator fault, not of the product. */
  flake?: EmulatorFlake;
}

const FATAL_PATTERNS: { kind: FatalKind; pattern: RegExp }[] = [
  { kind: "kernel panic", pattern: /Kernel panic - not syncing/ },
  { kind: "kernel oops", pattern: /\bOops: |\bBUG: (?:unable to handle|kernel NULL pointer)|\bgeneral protection fault\b/ },
  { kind: "GRUB rescue prompt", pattern: /grub rescue>/ },
  {
    kind: "emergency shell",
    pattern:
      /You are in emergency mode|Give root password for maintenance|Entering emergency mode|Cannot open access to console, the root account is locked|va-agent tiny system: interactive shell/,
  },
];

/**
 * A breakpoint trap in kernel text that the kernel no longer expects: another vCPU ran a stale
 * translation of code the kernel was patching through int3 (text_poke_bp), which multi-threaded
 * TCG does not always invalidate in time. Real CPUs serialise this; the product has no part in it.
 */
export const TCG_STALE_INT3: EmulatorFlake = {
  signature: "tcg-stale-int3",
  why: "'Oops: int3' in kernel text: a vCPU ran code another vCPU had just patched (multi-threaded TCG)",
};

/** The earliest fatal event in `text` at or after `from`, if any. */
export function firstFatal(text: string, from = 0): FatalEvent | undefined {
  const searched = text.slice(from);
  let first: FatalEvent | undefined;
  for (const { kind, pattern } of FATAL_PATTERNS) {
    const match = pattern.exec(searched);
    if (!match || (first && first.index <= from + match.index)) continue;
    const index = from + match.index;
    first = { kind, line: lineAround(text, index), index };
  }
  if (first && isStaleInt3(text, first)) first.flake = TCG_STALE_INT3;
  return first;
}

/** An int3 oops, or the panic it ends in ("Fatal exception in interrupt" after "Oops: int3"). */
function isStaleInt3(text: string, event: FatalEvent): boolean {
  if (event.kind === "kernel oops") return /\bOops: int3\b/.test(event.line);
  if (event.kind !== "kernel panic") return false;
  const before = text.slice(Math.max(0, event.index - 8192), event.index);
  const lastOops = before.lastIndexOf("Oops: ");
  return lastOops >= 0 && before.startsWith("Oops: int3", lastOops);
}

function lineAround(text: string, index: number): string {
  const start = text.lastIndexOf("\n", index) + 1;
  const end = text.indexOf("\n", index);
  return text.slice(start, end < 0 ? undefined : end).replace(/\r/g, "").trim();
}

/** Why a wait ended without its pattern; `flake` only for an event with a known emulator signature. */
export class VmWaitError extends Error {
  constructor(
    message: string,
    readonly vm: string,
    readonly reason: "fatal console event" | "stalled" | "exited" | "no progress",
    readonly flake?: EmulatorFlake,
  ) {
    super(message);
    this.name = "VmWaitError";
  }
}
