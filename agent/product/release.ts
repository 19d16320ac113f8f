/**
 * Release order, part by part on ".": two parts of digits only compare as numbers
 * (13.2 < 13.10), any other pair compares as text by code point (13.1-rc1 < 13.1-rc2; 13.1 < 13.rc1);
 * when one release is a prefix of the other, the shorter is older (13 < 13.0).
 * Negative: a is older than b; 0: the same release; positive: a is newer.
 */
export function compareReleases(a: string, b: string): number {
  const left = a.split(".");
  const right = b.split(".");
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = compareParts(left[i]!, right[i]!);
    if (order !== 0) return order;
  }
  return Math.sign(left.length - right.length);
}

const DIGITS = /^[0-9]+$/;

function compareParts(a: string, b: string): number {
  if (DIGITS.test(a) && DIGITS.test(b)) {
    const numeric = BigInt(a) - BigInt(b);
    return numeric === 0n ? 0 : numeric < 0n ? -1 : 1;
  }
  return a === b ? 0 : a < b ? -1 : 1;
}
