import { inhibitor, passed, type PreflightCheck } from "./check.ts";
import type { StageFacts } from "./stage-facts.ts";

const ONE_TIME_TOOLS = ["grub2-reboot", "grub-reboot", "grubby"];
const EDITENV_TOOLS = ["grub2-editenv", "grub-editenv"];

/** The tiny system boots once; any failure before the point of no return falls back to the old system. */
export function checkOneTimeBootTool(facts: StageFacts): PreflightCheck {
  const title = "One-time boot tools";
  const oneTime = ONE_TIME_TOOLS.filter((tool) => facts.tools.includes(tool));
  const editenv = EDITENV_TOOLS.filter((tool) => facts.tools.includes(tool));
  if (oneTime.length > 0 && editenv.length > 0) {
    return passed("one-time-boot-tool", title, `${oneTime.join(", ")} and ${editenv.join(", ")} found`);
  }
  const missing = [
    ...(oneTime.length === 0 ? [`none of ${ONE_TIME_TOOLS.join(", ")}`] : []),
    ...(editenv.length === 0 ? [`none of ${EDITENV_TOOLS.join(", ")}`] : []),
  ];
  return inhibitor(
    "one-time-boot-tool",
    title,
    `${missing.join(" and ")} found on the old system; without them the tiny system cannot be booted once with a fallback to the old system`,
    "Install the boot loader tools (`yum install grub2-tools grubby` on CentOS 7, `apt install grub-common` on Debian), then run stage again.",
  );
}
