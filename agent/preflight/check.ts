/** One pre-flight finding, in the manner of Leapp's reports: an inhibitor stops `stage` before it changes anything. */
export interface PreflightCheck {
  /** Stable kebab-case id, for the web UI and for tests. */
  id: string;
  severity: "inhibitor" | "warning" | "ok";
  title: string;
  /** What was found, with numbers and device names. */
  finding: string;
  /** What to do; empty when the check passed. */
  remedy: string;
}

export const MIB = 1024 ** 2;

export const passed = (id: string, title: string, finding: string): PreflightCheck => ({
  id,
  severity: "ok",
  title,
  finding,
  remedy: "",
});

export const inhibitor = (id: string, title: string, finding: string, remedy: string): PreflightCheck => ({
  id,
  severity: "inhibitor",
  title,
  finding,
  remedy,
});

export const warning = (id: string, title: string, finding: string, remedy: string): PreflightCheck => ({
  id,
  severity: "warning",
  title,
  finding,
  remedy,
});

/** A requirement, rounded up: "needs 2113 MiB". */
export const needMiB = (bytes: number): string => `${Math.ceil(bytes / MIB)} MiB`;
/** What the machine has, rounded down: "has 2047 MiB". */
export const haveMiB = (bytes: number): string => `${Math.floor(bytes / MIB)} MiB`;

/** `bytes` plus `percent` of it, in whole bytes (no floating-point surprises in the messages). */
export const withMargin = (bytes: number, percent: number): number => bytes + Math.ceil((bytes * percent) / 100);
