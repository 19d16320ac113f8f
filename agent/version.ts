declare const VA_VERSION: string | undefined;

/** Injected by build.ts (`--define VA_VERSION=…`); "dev" when running from source. */
export const AGENT_VERSION: string = typeof VA_VERSION === "string" ? VA_VERSION : "dev";
