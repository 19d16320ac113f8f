import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { JournalError } from "../errors/errors.ts";
import { writeFileAtomically } from "../disk/write-file-atomically.ts";

export type StepOutcome = "running" | "done" | "failed";

export interface JournalEntry {
  step: string;
  startedAt: string;
  endedAt?: string;
  seconds?: number;
  outcome: StepOutcome;
  /** SHA-256 of what the step was asked to do (manifest + plan): a changed input re-runs the step. */
  inputsDigest: string;
  error?: { message: string; exitCode: number; hint: string };
}

export interface JournalDocument {
  format: 1;
  runId: string;
  entries: JournalEntry[];
  result?: { outcome: "migrated" | "failed"; at: string; step?: string; message?: string; exitCode?: number };
}

/** The record of finished steps; written atomically (temp + rename) to every attached location. */
export class Journal {
  private constructor(
    private document: JournalDocument,
    private readonly locations: Set<string>,
  ) {}

  static open(path: string): Journal {
    if (!existsSync(path)) return new Journal({ format: 1, runId: new Date().toISOString(), entries: [] }, new Set([path]));
    try {
      const document = JSON.parse(readFileSync(path, "utf8")) as JournalDocument;
      if (document.format !== 1 || !Array.isArray(document.entries)) throw new Error("unknown format");
      return new Journal(document, new Set([path]));
    } catch (error) {
      throw new JournalError(
        `journal ${path} is unreadable: ${(error as Error).message}`,
        `Move ${path} aside to start over from the first step, or inspect it by hand.`,
      );
    }
  }

  get entries(): readonly JournalEntry[] {
    return this.document.entries;
  }

  get result() {
    return this.document.result;
  }

  /** Also keep a copy at `path` from now on (e.g. on the new disk, once it is mounted). */
  attach(path: string): void {
    this.locations.add(path);
    this.save();
  }

  /** Stop writing to `path` (e.g. the resume store, just before it is deleted). */
  detach(path: string): void {
    this.locations.delete(path);
  }

  get attachedTo(): readonly string[] {
    return [...this.locations];
  }

  isDone(step: string, inputsDigest: string): boolean {
    const entry = this.latest(step);
    return entry?.outcome === "done" && entry.inputsDigest === inputsDigest;
  }

  latest(step: string): JournalEntry | undefined {
    return this.document.entries.findLast((entry) => entry.step === step);
  }

  begin(step: string, inputsDigest: string): JournalEntry {
    const entry: JournalEntry = { step, startedAt: new Date().toISOString(), outcome: "running", inputsDigest };
    this.document.entries.push(entry);
    this.save();
    return entry;
  }

  finish(entry: JournalEntry, outcome: "done" | "failed", error?: JournalEntry["error"]): void {
    entry.endedAt = new Date().toISOString();
    entry.seconds = Number(((Date.parse(entry.endedAt) - Date.parse(entry.startedAt)) / 1000).toFixed(1));
    entry.outcome = outcome;
    if (error) entry.error = error;
    this.save();
  }

  setResult(result: NonNullable<JournalDocument["result"]>): void {
    this.document.result = result;
    this.save();
  }

  /**
   * Temp file, fsync, rename, fsync of the directory: after a power cut each location holds either
   * the previous or the new journal, never a torn one, and a step recorded done stays done.
   */
  private save(): void {
    const text = `${JSON.stringify(this.document, null, 2)}\n`;
    for (const path of this.locations) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileAtomically(path, text, { mode: 0o644 });
    }
  }
}
