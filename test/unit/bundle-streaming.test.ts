import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, writeSync } from "node:fs";
import { verifyBundle } from "../../agent/bundle/verify.ts";
import type { Progress } from "../../agent/log/logger.ts";
import { buildTestBundle, makeWorkspace, removeWorkspaces } from "./bundle-fixture.ts";

const MIB = 1024 * 1024;

function writeZeros(path: string, bytes: number): void {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(4 * MIB);
  for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
  closeSync(fd);
}

afterAll(removeWorkspaces);

describe("verify streams the bundle", () => {
  test(
    "a 300 MB member: RSS grows by less than 64 MB at any point during verify",
    async () => {
      const ws = makeWorkspace({ rootfs: (path) => writeZeros(path, 300 * MIB + 7) });
      const bundle = await buildTestBundle(ws);
      Bun.gc(true);
      const before = process.memoryUsage().rss;
      let peak = before;
      const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
      const progress = (): Progress => ({ update: sample, finish: sample });
      const report = await verifyBundle(bundle, { keyring: ws.keyring, progress });
      sample();
      expect(report.ok).toBe(true);
      expect(report.members.find((m) => m.file === "va.tar.xz")?.bytes).toBe(300 * MIB + 7);
      expect((peak - before) / MIB).toBeLessThan(64);
    },
    { timeout: 120_000 },
  );
});
