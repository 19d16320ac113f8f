import { readRootFile } from "./root-files.ts";
import { parseShellVariables } from "./shell-variables.ts";

/** /etc/hostname, or HOSTNAME= of EL's /etc/sysconfig/network. */
export function captureHostname(root: string): string | undefined {
  const fromFile = (readRootFile(root, "/etc/hostname") ?? "")
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .find(Boolean);
  const hostname = fromFile ?? parseShellVariables(readRootFile(root, "/etc/sysconfig/network") ?? "").get("HOSTNAME");
  return hostname || undefined;
}
