// CLI: builds (or reuses from the cache) the old appliance and prints
// {"diskImage": ..., "dir": ..., "facts": {...}} as JSON on stdout (logs go to stderr).
// Usage: bun test/assets/build-old-appliance.ts
import { buildOldAppliance } from "./old-appliance.ts";

const t0 = performance.now();
const r = await buildOldAppliance();
process.stderr.write(`[old-appliance] ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${r.diskImage}\n`);
process.stdout.write(JSON.stringify(r, null, 2) + "\n");
