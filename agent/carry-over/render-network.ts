import type { DistroAdapter } from "../distro/adapter.ts";
import type { CapturedConfig } from "./captured-config.ts";
import { ifupdownPackagesNeeded, ifupdownRefusals, renderIfupdown } from "./render-ifupdown.ts";
import { renderNetworkScripts } from "./render-network-scripts.ts";
import { renderNetworkd } from "./render-networkd.ts";
import { renderNetworkManager } from "./render-networkmanager.ts";
import type { RenderedFile } from "./rendered-file.ts";
import { PayloadError } from "../errors/errors.ts";

export type NetworkStyle = DistroAdapter["networkStyle"];

/** The captured interfaces in the new OS's native form. */
export function renderNetwork(config: CapturedConfig, style: NetworkStyle): RenderedFile[] {
  switch (style) {
    case "networkmanager":
      return renderNetworkManager(config);
    case "network-scripts":
      return renderNetworkScripts(config);
    case "ifupdown":
      return renderIfupdown(config);
    case "networkd":
      return renderNetworkd(config);
  }
}

/** NetworkManager and network-scripts write resolv.conf from the interface files themselves. */
export function styleWritesResolvConf(style: NetworkStyle): boolean {
  return style === "networkmanager" || style === "network-scripts";
}

/** Where ifupdown's optional packages hook in: a bond, a bridge or a `vlanN` needs them in the new root. */
const IFUPDOWN_PACKAGE_HOOKS: Record<string, string> = {
  ifenslave: "etc/network/if-pre-up.d/ifenslave",
  "bridge-utils": "etc/network/if-pre-up.d/bridge",
  vlan: "etc/network/if-pre-up.d/vlan",
};
const NETWORKD_BINARIES = ["usr/lib/systemd/systemd-networkd", "lib/systemd/systemd-networkd"];
const NETWORKD_ENABLED = "etc/systemd/system/multi-user.target.wants/systemd-networkd.service";

export interface NetworkStyleChoice {
  style: NetworkStyle;
  /** Units the new root must have enabled for the style to apply at boot. */
  enableUnits: string[];
  /** Why another style than the new OS's own, for the log. */
  why?: string;
}

/**
 * The new OS's own style, unless it cannot say what was captured: ifupdown without ifenslave cannot
 * make a bond, and never a DHCP lease without its default route. systemd-networkd can say all of the
 * model; when the new root has it, it is used instead and enabled. `has` tells whether a path exists
 * in the new root (relative, no leading slash).
 */
export function chooseNetworkStyle(config: CapturedConfig, native: NetworkStyle, has: (path: string) => boolean): NetworkStyleChoice {
  const hasNetworkd = NETWORKD_BINARIES.some(has);
  const networkd = (why?: string): NetworkStyleChoice => ({ style: "networkd", enableUnits: has(NETWORKD_ENABLED) ? [] : ["systemd-networkd.service"], ...(why ? { why } : {}) });
  if (native === "networkd") return networkd();
  if (native !== "ifupdown") return { style: native, enableUnits: [] };
  const missing = ifupdownPackagesNeeded(config).filter((pkg) => !has(IFUPDOWN_PACKAGE_HOOKS[pkg] ?? `<${pkg}>`));
  const cannot = [...missing.map((pkg) => `ifupdown needs the ${pkg} package, which the new OS lacks`), ...ifupdownRefusals(config)];
  if (cannot.length === 0) return { style: "ifupdown", enableUnits: [] };
  if (!hasNetworkd) {
    throw new PayloadError(
      `the new OS cannot configure the captured network: ${cannot.join("; ")}`,
      "Add the missing package (or systemd-networkd) to the payload and stage again; or configure the network of the new system by hand from the console.",
    );
  }
  return networkd(`${cannot.join("; ")}: rendered for systemd-networkd, which the new OS has`);
}
