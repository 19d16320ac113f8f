import { InstallError, PreflightError } from "../errors/errors.ts";
import { ALLOW_DOWNGRADE_FLAG, checkProductAndRelease } from "../preflight/product-check.ts";
import { INSTALLED_PRODUCT_FILE, type InstalledProduct, type Product } from "../product/installed-product.ts";
import { compareReleases } from "../product/release.ts";

/** What an install changes the appliance from and to. */
export interface ReleaseChange {
  from: Product;
  to: Product;
  downgrade: boolean;
}

/**
 * stage's rule (agent/preflight/product-check.ts), on the running system: the image is for the
 * installed product and not an older release unless the operator allowed a downgrade (the same
 * release again is not one). Unlike stage, a system without a record is refused: every system
 * va-agent migrated has one, and nothing else says what this one is.
 */
export function requireInstallableRelease(installed: InstalledProduct, image: Product, allowDowngrade: boolean): ReleaseChange {
  const file = `/${INSTALLED_PRODUCT_FILE}`;
  if (installed.found === "none") {
    throw new InstallError(`${file} is missing: nothing says which product and release this system runs`, `Restore ${file} ({"product":{"name":…,"release":…}}) as the migration wrote it; nothing was changed.`, { file });
  }
  const check = checkProductAndRelease(installed, image, allowDowngrade);
  if (check.severity === "inhibitor") throw new PreflightError(`install refused: ${check.finding}`, remedy(installed, image), { inhibitors: [check.id] });
  if (installed.found !== "record") throw new Error("unreachable: an unreadable record is an inhibitor");
  return { from: installed.product, to: image, downgrade: compareReleases(image.release, installed.product.release) < 0 };
}

function remedy(installed: InstalledProduct, image: Product): string {
  if (installed.found !== "record") return `Restore /${INSTALLED_PRODUCT_FILE} (the record of the installed product and release) as the migration wrote it; nothing was changed.`;
  if (installed.product.name !== image.name) return `Get the ${installed.product.name} slot image from the vendor; nothing was changed.`;
  return `Get the current slot image from the vendor, or run \`va-agent install BUNDLE ${ALLOW_DOWNGRADE_FLAG}\` if the downgrade is intended; nothing was changed.`;
}
