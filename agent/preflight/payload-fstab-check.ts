import { classifyFstab, parseFstab } from "../disk/fstab.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { inhibitor, passed, type PreflightCheck, warning } from "./check.ts";

const TITLE = "the payload's /etc/fstab";

/**
 * The payload's fstab (read from the rootfs archive before anything is written) against what the
 * manifest creates, with the rule the tiny system uses after extraction (classifyFstab): entries
 * the new system boots without are warnings, an entry it would wait for that nothing creates is an
 * inhibitor. The tiny system checks only the created ones, so none of these can stop it later.
 */
export function checkPayloadFstab(fstab: string | undefined, manifest: Readonly<Manifest>): PreflightCheck {
  if (fstab === undefined) {
    return inhibitor("payload-fstab", TITLE, "the payload has no etc/fstab: the new system would not know what to mount", "Rebuild the payload with the new system's /etc/fstab; nothing was changed.");
  }
  const created = manifest.filesystems.flatMap((fs) => (fs.mountpoint ? [fs.mountpoint] : []));
  const verdicts = classifyFstab(parseFstab(fstab), created);
  const list = (kind: string) => verdicts.filter((v) => v.kind === kind).map((v) => `${v.entry.spec} (${v.entry.mountpoint}: ${v.why})`);
  const required = list("required");
  const optional = list("optional");
  if (required.length > 0) {
    return inhibitor(
      "payload-fstab",
      TITLE,
      `the new system would wait for entries no filesystem of the manifest provides, then stop in emergency mode: ${required.join(", ")}` +
        (optional.length > 0 ? `; besides, these will not resolve during the migration and may be missing at boot: ${optional.join(", ")}` : ""),
      "Add nofail (or noauto) to those entries in the payload's /etc/fstab, or make the manifest create their filesystems, then rebuild the bundle; nothing was changed.",
    );
  }
  if (optional.length > 0) {
    return warning(
      "payload-fstab",
      TITLE,
      `these entries will not resolve during the migration and may be missing when the new system boots (it boots without them): ${optional.join(", ")}`,
      "Nothing to do if that is expected (network shares, removable media, swap files); the migration checks only the filesystems the manifest creates.",
    );
  }
  return passed("payload-fstab", TITLE, `every entry is a filesystem the manifest creates or no device (${verdicts.length} entries)`);
}
