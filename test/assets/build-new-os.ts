// CLI: `bun test/assets/build-new-os.ts` builds (or reuses) the new-OS test assets and prints their
// paths as JSON on stdout (logs go to stderr).
import { buildNewOs } from "./new-os.ts";

try {
  const assets = await buildNewOs();
  process.stdout.write(JSON.stringify(assets, null, 2) + "\n");
} catch (e) {
  process.stderr.write(`build-new-os: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
}
