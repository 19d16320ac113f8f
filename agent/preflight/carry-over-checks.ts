import { parseGroup, parsePasswd } from "../carry-over/account-files.ts";
import { type AccountsPlan, planAccounts } from "../carry-over/account-plan.ts";
import type { Capture } from "../carry-over/capture-config.ts";
import type { CapturedConfig } from "../carry-over/captured-config.ts";
import { managementGaps, isNotCarried } from "../carry-over/management-network.ts";
import { carriedOptions } from "../carry-over/render-fstab-mounts.ts";
import type { Manifest } from "../manifest/manifest.ts";
import { inhibitor, passed, type PreflightCheck, warning } from "./check.ts";

const NETWORK_TITLE = "Network carried to the new system";
const MOUNTS_TITLE = "Filesystems outside the target disk";
const ACCOUNTS_TITLE = "Accounts carried to the new system";
const MISSING_REMEDY = "Nothing to do if that is expected; otherwise fix the account on this system (or carryOver.accounts) and stage again.";

/**
 * The management network (the interfaces holding the live default route or the address the box
 * was reached on, and what they rest on) must come back as it is: anything of it not carried is an
 * inhibitor, by interface. Other interfaces not carried are warnings.
 */
export function checkCarriedNetwork(config: CapturedConfig, management: readonly string[] | undefined, manifest: Readonly<Pick<Manifest, "carryOver">>): PreflightCheck {
  if (manifest.carryOver.network === false) {
    return passed("carry-over-network", NETWORK_TITLE, "carryOver.network is false: the new system keeps the network configuration its payload ships");
  }
  const gaps = managementGaps(config.interfaces, config.warnings, management ?? []);
  if (gaps.size > 0) {
    const described = [...gaps.entries()].map(([name, reasons]) => `${name}: ${reasons.join("; ")}`);
    return inhibitor(
      "carry-over-network",
      NETWORK_TITLE,
      `the management network (${management!.join(", ")}) would not come back as it is on the new system: ${described.join(" | ")}`,
      "Reconfigure the management network with what the carry-over understands (Ethernet, bonds, VLANs, bridges; static or DHCP; IPv4 and IPv6), or give the box another management interface that is carried, then stage again; nothing was changed.",
    );
  }
  const others = config.warnings.filter(isNotCarried).filter((w) => w.interface);
  const unknown = management === undefined || management.length === 0;
  const lines = [
    ...(unknown ? ["no live default route and no --reached-via address: cannot tell which interface the box is managed over"] : [`management interface(s): ${management.join(", ")}, carried`]),
    ...others.map((w) => `${w.interface}: ${w.message}`),
  ];
  if (unknown || others.length > 0) {
    return warning(
      "carry-over-network",
      NETWORK_TITLE,
      lines.join("; "),
      unknown
        ? "Stage with --reached-via ADDRESS (the address you manage the box on) so a management interface that cannot be carried stops the migration here."
        : "Nothing to do if those interfaces are not needed on the new system; otherwise reconfigure them with what the carry-over understands and stage again.",
    );
  }
  return passed("carry-over-network", NETWORK_TITLE, `${lines[0]}; ${config.interfaces.length} interface(s) carried`);
}

/** Entries left on the target disk, binds and the like are warnings by mount point; the carried ones are listed. */
export function checkCarriedMounts(capture: Pick<Capture, "config" | "mountsLeft">): PreflightCheck {
  const carried = capture.config.mounts.map((m) => `${m.mountPoint} (${m.spec}, ${m.type}, ${m.lives}${carriedOptions(m.options) === m.options ? "" : ", nofail added"})`);
  const carriedText = carried.length > 0 ? `carried into the new fstab: ${carried.join(", ")}` : "no fstab entry lives outside the target disk";
  const warned = capture.mountsLeft.filter((left) => left.warned).map((left) => `${left.mountPoint} (${left.spec}): ${left.why}`);
  const unchecked = capture.config.warnings.find((w) => w.id === "mounts-unchecked");
  if (warned.length > 0 || unchecked) {
    return warning(
      "carry-over-mounts",
      MOUNTS_TITLE,
      [...(unchecked ? [unchecked.message] : []), `not carried: ${warned.join("; ")}`, carriedText].filter((line) => line !== "not carried: ").join("; "),
      "Nothing to do if the new system does not need them; data on the target disk survives only through carryOver.paths. Carried entries get nofail: the new system boots without them when their disk or server is missing.",
    );
  }
  return passed("carry-over-mounts", MOUNTS_TITLE, carriedText);
}

/** The payload's account files, when stage could read them out of the archive (undefined: deferred to the tiny system). */
export interface PayloadAccountFiles {
  passwd?: string;
  group?: string;
}

/**
 * Judged against the payload's /etc/passwd and /etc/group (the new OS as it will be extracted): a
 * uid or gid the new OS gives to another name is an inhibitor, by account.
 */
export function checkCarriedAccounts(config: CapturedConfig, payload: PayloadAccountFiles | undefined): { check: PreflightCheck; plan?: AccountsPlan } {
  const missing = config.warnings.filter((w) => w.id === "account-missing").map((w) => w.message);
  if (config.accounts.length === 0) {
    if (missing.length === 0) return { check: passed("carry-over-accounts", ACCOUNTS_TITLE, "no account is listed in carryOver.accounts") };
    return { check: warning("carry-over-accounts", ACCOUNTS_TITLE, missing.join("; "), MISSING_REMEDY) };
  }
  if (!payload) {
    return {
      check: warning(
        "carry-over-accounts",
        ACCOUNTS_TITLE,
        [`the payload's accounts are read in the tiny system (no xz here): ${names(config)} will be merged or created there, and one whose uid or gid the new OS gives to another name stops the migration before the point of no return`, ...missing].join("; "),
        "Nothing to do; to know here, install xz on this system and stage again.",
      ),
    };
  }
  if (payload.passwd === undefined) {
    return { check: inhibitor("carry-over-accounts", ACCOUNTS_TITLE, `the payload has no etc/passwd: the listed accounts (${names(config)}) cannot be carried into it`, "Rebuild the payload from a complete root filesystem; nothing was changed.") };
  }
  const plan = planAccounts(config.accounts, parsePasswd(payload.passwd), parseGroup(payload.group ?? ""));
  const refused = plan.accounts.flatMap((a) => (a.action === "refused" ? [`${a.name}: ${a.clashes.join(", ")}`] : []));
  const said = [
    listOf("password hash carried (the new OS has the account)", plan, "hash-only"),
    listOf("created with their old uid, groups and home", plan, "create"),
    ...plan.accounts.flatMap((a) => (a.action === "refused" ? [] : a.notes.map((note) => `${a.name}: ${note}`))),
    ...missing,
  ].filter(Boolean);
  if (refused.length > 0) {
    return {
      plan,
      check: inhibitor(
        "carry-over-accounts",
        ACCOUNTS_TITLE,
        `the new OS gives these accounts' ids to other names: ${refused.join("; ")}${said.length > 0 ? `; besides: ${said.join("; ")}` : ""}`,
        "Renumber the account on this system (`usermod -u NEW NAME`, `groupmod -g NEW GROUP`, then chown its files) to ids the new OS leaves free, or remove it from carryOver.accounts, then stage again; nothing was changed.",
      ),
    };
  }
  const notes = said.some((line) => line.includes("not carried:")) || missing.length > 0;
  const finding = said.join("; ");
  return { plan, check: notes ? warning("carry-over-accounts", ACCOUNTS_TITLE, finding, MISSING_REMEDY) : passed("carry-over-accounts", ACCOUNTS_TITLE, finding) };
}

function listOf(what: string, plan: AccountsPlan, action: "hash-only" | "create"): string {
  const list = plan.accounts.filter((a) => a.action === action).map((a) => a.name);
  return list.length > 0 ? `${what}: ${list.join(", ")}` : "";
}

function names(config: CapturedConfig): string {
  return config.accounts.map((a) => a.name).join(", ") || "none";
}
