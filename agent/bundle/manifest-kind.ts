import { BundleError } from "../errors/errors.ts";

/**
 * The two kinds of manifest a signed bundle carries: a migration (the old system's disk rewritten
 * by the tiny system: `stage`) and a slot image (a root filesystem for the running system's
 * inactive slot: `install`). A slot image says `"kind": "slot-image"`; the migration manifest has
 * no kind field (it predates slot images), so anything else reads as a migration manifest and its
 * own schema judges it.
 */
export type ManifestKind = "migration" | "slot-image";

export function manifestKindOf(document: unknown): ManifestKind {
  return (document as { kind?: unknown } | null)?.kind === "slot-image" ? "slot-image" : "migration";
}

/** A bundle of the other kind is refused by name, before its fields are judged by the wrong schema. */
export function refuseOtherKind(source: string, document: unknown, wanted: ManifestKind): void {
  const found = manifestKindOf(document);
  if (found === wanted) return;
  const product = productText(document);
  if (wanted === "migration") {
    throw new BundleError(
      `${source} is a slot image${product}, not a migration bundle: it installs a release into the inactive slot of a system va-agent already migrated`,
      "Install it on the running new system with `va-agent install BUNDLE`; to migrate an old system, use the vendor's migration bundle. Nothing was changed.",
      { kind: found },
    );
  }
  throw new BundleError(
    `${source} is a migration bundle${product}, not a slot image: it rewrites an old system's disk from the tiny system (partition table, tiny system), which a running slot system never does`,
    "Get the vendor's slot image of that release (made by `build.ts bundle --slot-image`) and install it with `va-agent install BUNDLE`; `va-agent stage` takes migration bundles on the old system. Nothing was changed.",
    { kind: found },
  );
}

function productText(document: unknown): string {
  const product = (document as { product?: { name?: unknown; release?: unknown } } | null)?.product;
  return typeof product?.name === "string" && typeof product.release === "string" ? ` (${product.name} ${product.release})` : "";
}
