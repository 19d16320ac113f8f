import type { Manifest } from "../manifest/manifest.ts";
import { passed, type PreflightCheck, warning } from "./check.ts";
import type { StageFacts } from "./stage-facts.ts";

export function checkSelinux(facts: StageFacts, manifest: Readonly<Manifest>): PreflightCheck {
  const title = "SELinux";
  const mode = manifest.selinux.mode;
  if (facts.selinux === "enforcing" && mode === "none") {
    return warning(
      "selinux",
      title,
      "SELinux is enforcing on the old system but the new system has no SELinux (manifest selinux.mode none): labels of carried files are not kept",
      "Nothing to do for the migration; review the new system's access controls if you rely on SELinux confinement.",
    );
  }
  return passed("selinux", title, `old system ${facts.selinux}, new system ${mode}`);
}
