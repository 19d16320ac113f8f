import { PreflightError } from "../errors/errors.ts";
import { compareReleases } from "../product/release.ts";
import { INSTALLED_PRODUCT_FILE, type InstalledProduct, type Product } from "../product/installed-product.ts";
import { inhibitor, passed, type PreflightCheck } from "./check.ts";

export const ALLOW_DOWNGRADE_FLAG = "--allow-downgrade";
const ID = "product-release";
const TITLE = "Product and release";

/**
 * One rule for `stage` and the tiny system: the bundle must be for the installed product, and not
 * an older release unless the operator allowed a downgrade. An appliance without a record (not
 * installed by va-agent yet) is not compared: nothing says what it is.
 */
export function checkProductAndRelease(installed: InstalledProduct, bundle: Product, allowDowngrade: boolean): PreflightCheck {
  const file = `/${INSTALLED_PRODUCT_FILE}`;
  if (installed.found === "none") return passed(ID, TITLE, `no ${file} (not installed by va-agent before): product and release not compared; the bundle is ${bundle.name} ${bundle.release}`);
  if (installed.found === "unreadable") {
    return inhibitor(ID, TITLE, `${file} cannot be read: ${installed.problem}`, `Restore ${file} (the record of the installed product and release, {"product":{"name":…,"release":…}}) or remove it, then stage again; nothing was changed.`);
  }
  const { name, release } = installed.product;
  if (name !== bundle.name) {
    return inhibitor(ID, TITLE, `the bundle is for ${bundle.name}; this appliance is ${name} ${release} (${file})`, `Get the ${name} bundle from the vendor; nothing was changed.`);
  }
  const order = compareReleases(bundle.release, release);
  if (order >= 0) return passed(ID, TITLE, `${name} ${release} → ${bundle.release}`);
  if (allowDowngrade) return passed(ID, TITLE, `${name} ${release} → ${bundle.release}: a DOWNGRADE, allowed by ${ALLOW_DOWNGRADE_FLAG}`);
  return inhibitor(ID, TITLE, `the bundle's release ${bundle.release} is older than the installed ${name} ${release}: a downgrade`, `Get the current bundle from the vendor, or stage again with ${ALLOW_DOWNGRADE_FLAG} if the downgrade is intended; nothing was changed.`);
}

/** The tiny system's side of the rule: an inhibitor is a refusal before any write. */
export function requireProductAndRelease(installed: InstalledProduct, bundle: Product, allowDowngrade: boolean): PreflightCheck {
  const check = checkProductAndRelease(installed, bundle, allowDowngrade);
  if (check.severity === "inhibitor") throw new PreflightError(`pre-flight found 1 inhibitor(s): ${check.id}: ${check.finding}`, check.remedy, { inhibitors: [check.id] });
  return check;
}
