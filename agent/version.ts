declare const VA_VERSION_DEFINE: string | undefined;

/** Injected by build.ts (`--define`); "dev" when running from source. */
export const VA_VERSION: string = typeof VA_VERSION_DEFINE === "string" ? VA_VERSION_DEFINE : "dev";
