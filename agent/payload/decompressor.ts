import { once } from "node:events";
import type { Writable } from "node:stream";
import { createZstdDecompress } from "node:zlib";
import { VaError } from "../errors/errors.ts";
import type { Compression } from "../manifest/manifest.ts";
import type { Runner } from "../runner/runner.ts";

/** What reads the compressed payload: zstd in-process (CentOS 7 has no zstd tool), xz by `xz -dc`. */
export interface Decompressor {
  name: string;
  input: Writable;
  output: AsyncIterable<Buffer>;
  /** undefined when the stream decompressed cleanly, else what went wrong. */
  finished: Promise<string | undefined>;
  stop(): void;
}

export const XZ_COMMAND = ["xz", "-dc"] as const;

/** This system cannot run `xz -dc` (exit 8); `stage` defers the check to the tiny system instead (archive-check.ts). */
export class NoXzError extends VaError {
  constructor(archive: string) {
    super(
      "toolMissing",
      `cannot run \`${XZ_COMMAND.join(" ")}\` to check the payload ${archive}: this system has no xz`,
      "Install xz (`yum install xz` on CentOS 7, `apt install xz-utils` on Debian) if the system can, or rebuild the bundle with a zstd payload (checked in-process); then stage again. Nothing was changed.",
      { tool: XZ_COMMAND[0] },
    );
  }
}

export async function startDecompressor(run: Runner, compression: Compression): Promise<Decompressor> {
  if (compression === "zstd") {
    const z = createZstdDecompress();
    z.on("error", () => {}); // reported through `finished`
    const finished = new Promise<string | undefined>((resolve) => {
      z.once("error", (error) => resolve(`zstd: ${error.message}`));
      z.once("end", () => resolve(undefined));
      z.once("close", () => resolve("stopped"));
    });
    return { name: "zstd (in-process)", input: z, output: z, finished, stop: () => z.destroy() };
  }
  const xz = await run.filter(XZ_COMMAND);
  const finished = xz.finished.then((result) => (result.status === 0 ? undefined : `exit status ${result.status}: ${result.stderr.trim().split("\n").slice(-3).join(" ")}`));
  return { name: XZ_COMMAND.join(" "), input: xz.input, output: xz.output, finished, stop: () => xz.stop() };
}

/** Writes the source into the decompressor's stdin (every byte to `onChunk`, even after the decompressor stopped reading). */
export async function feed(source: AsyncIterable<Uint8Array>, stdin: Writable, onChunk?: (chunk: Uint8Array) => void): Promise<void> {
  let open = true;
  const closed = new Promise<void>((resolve) => {
    const stop = () => ((open = false), resolve());
    stdin.once("close", stop);
    stdin.once("error", stop);
  });
  try {
    for await (const chunk of source) {
      onChunk?.(chunk);
      if (!open) continue;
      if (!stdin.write(Buffer.from(chunk))) await Promise.race([once(stdin, "drain").catch(() => undefined), closed]);
    }
  } finally {
    // also when the source fails (a truncated bundle): the decompressor then sees a short stream and stops
    if (open) stdin.end();
  }
}

/** Reads what is left of the decompressor's output, so it can finish. */
export async function drain(output: AsyncIterator<Buffer>): Promise<void> {
  try {
    while (!(await output.next()).done) {
      // zero padding after the end-of-archive marker
    }
  } catch {
    // the decompressor failed: `finished` says how
  }
}
