import { join } from "node:path";
import type { Manifest } from "../manifest/manifest.ts";
import { readHostFile } from "../preflight/host-files.ts";

/**
 * What the appliance says it is: written by record-result into the new root at the end of every
 * migration (and shipped by a vendor's factory image the same way). The vendor's product and
 * release, not the distribution's: os-release names Debian 13, not "va-demo 13.0".
 */
export const INSTALLED_PRODUCT_FILE = "etc/va-agent/installed.json";

export type Product = Manifest["product"];

/** Read from a root ("/" for stage, the old root's mountpoint in the tiny system). */
export type InstalledProduct = { found: "none" } | { found: "unreadable"; problem: string } | { found: "record"; product: Product };

export function readInstalledProduct(root: string): InstalledProduct {
  const text = readHostFile(root, INSTALLED_PRODUCT_FILE);
  if (text === null) return { found: "none" };
  try {
    const product = (JSON.parse(text) as { product?: Partial<Product> }).product;
    if (typeof product?.name === "string" && product.name && typeof product.release === "string" && product.release) {
      return { found: "record", product: { name: product.name, release: product.release } };
    }
    return { found: "unreadable", problem: "it has no product.name and product.release" };
  } catch (error) {
    return { found: "unreadable", problem: `it is not JSON: ${(error as Error).message}` };
  }
}

export function installedProductRecord(product: Product, at: string): string {
  return `${JSON.stringify({ product: { name: product.name, release: product.release }, installedAt: at }, null, 2)}\n`;
}

export const installedProductPath = (root: string): string => join(root, INSTALLED_PRODUCT_FILE);
