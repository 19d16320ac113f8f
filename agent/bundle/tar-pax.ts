import { TarHeaderProblem } from "./tar-header.ts";

/** Values of one pax header, each cut at its first NUL as GNU tar cuts it. */
export type PaxRecords = Map<string, string>;

/**
 * Records "LENGTH key=value\n", cut by LENGTH over the raw bytes: a value is bytes (a file
 * capability, an SELinux label), never decoded before the record is split. A malformed record is an
 * error for GNU tar too (it reports it and exits 2), so it is one here.
 */
export function parsePaxRecords(data: Buffer): PaxRecords {
  const records: PaxRecords = new Map();
  let at = 0;
  while (at < data.length) {
    const { key, value, next } = parseRecord(data, at);
    records.set(key, value);
    at = next;
  }
  return records;
}

function parseRecord(data: Buffer, start: number): { key: string; value: string; next: number } {
  let at = start;
  let length = 0;
  while (at < data.length && data[at]! >= 0x30 && data[at]! <= 0x39 && at - start < 16) length = length * 10 + (data[at++]! - 0x30);
  if (at === start) throw malformed(start, "no length");
  if (data[at] !== 0x20) throw malformed(start, "no blank after the length");
  const end = start + length;
  if (length <= at - start + 1 || end > data.length) throw malformed(start, `length ${length} out of range`);
  if (data[end - 1] !== 0x0a) throw malformed(start, "no newline at the end");
  const equals = data.indexOf(0x3d, at + 1);
  const nul = data.indexOf(0, at + 1);
  if (equals === -1 || equals >= end - 1 || (nul !== -1 && nul < equals)) throw malformed(start, "no `=`");
  const key = data.subarray(at + 1, equals).toString("utf8");
  return { key, value: cString(data.subarray(equals + 1, end - 1)), next: end };
}

export function cString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.subarray(0, nul === -1 ? bytes.length : nul).toString("utf8");
}

/** A pax number is plain decimal for GNU tar; anything else is reported and exits 2. */
export function paxNumber(records: PaxRecords, key: string): number | undefined {
  const value = records.get(key);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new TarHeaderProblem(`the pax record ${key}=${JSON.stringify(value.slice(0, 40))} is not a plain decimal number in range`);
  return Number(value);
}

function malformed(offset: number, detail: string): TarHeaderProblem {
  return new TarHeaderProblem(`a malformed pax record at byte ${offset} of its header: ${detail}`);
}
