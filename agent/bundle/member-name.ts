/** Bundle members are flat file names: no directories, no way out of the staging directory. */
export function isPlainFileName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0") && Buffer.byteLength(name) <= 100;
}

export const MANIFEST_MEMBER = "manifest.json";
export const SIGNATURE_MEMBER = "manifest.json.sig";
