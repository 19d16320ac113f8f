import type { DistroAdapter } from "../distro/adapter.ts";
import type { CapturedConfig } from "./captured-config.ts";
import { renderIfupdown } from "./render-ifupdown.ts";
import { renderNetworkScripts } from "./render-network-scripts.ts";
import { renderNetworkd } from "./render-networkd.ts";
import { renderNetworkManager } from "./render-networkmanager.ts";
import type { RenderedFile } from "./rendered-file.ts";

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
