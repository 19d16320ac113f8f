import { PassThrough } from "node:stream";
import { ToolMissingError } from "../../agent/errors/errors.ts";
import { checkResult, type CommandResult, type Filter, type Runner, type RunOptions } from "../../agent/runner/runner.ts";

type Responder = (argv: readonly string[]) => Partial<CommandResult> | undefined;

/** Records every command and answers from canned responses: the agent's commands tested as data. */
export class FakeRunner implements Runner {
  readonly dryRun = false;
  readonly calls: string[][] = [];
  /** Sector writes in order, and the sectors they leave, per device (unwritten sectors read as zeros). */
  readonly sectorWrites: Array<{ device: string; lba: number; sectors: number; what: string; afterCommands: number }> = [];
  private readonly sectors = new Map<string, Map<number, Buffer>>();
  private readonly responders: Responder[] = [];
  private hostFilters?: Runner;

  /** Filters (xz -dc) run for real on this host through `runner`, still recorded: for tests that feed real xz streams. */
  filtersOn(runner: Runner): this {
    this.hostFilters = runner;
    return this;
  }

  respond(responder: Responder): this {
    this.responders.push(responder);
    return this;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.calls.push([...argv]);
    const answer = this.responders.map((r) => r(argv)).find(Boolean) ?? {};
    return checkResult(argv, { stdout: "", stderr: "", status: 0, ...answer }, options);
  }

  /** A filter passes its input through unchanged (tests feed plain tar as "compressed"), or runs on the host (filtersOn); status 127 = the tool is missing, also then. */
  async filter(argv: readonly string[]): Promise<Filter> {
    this.calls.push([...argv]);
    const answer = this.responders.map((r) => r(argv)).find(Boolean) ?? {};
    if (answer.status === 127) throw new ToolMissingError(argv[0] ?? "?");
    if (this.hostFilters) return this.hostFilters.filter(argv);
    const pipe = new PassThrough();
    const finished = new Promise<CommandResult>((resolve) => {
      pipe.once("end", () => resolve({ stdout: "", stderr: answer.stderr ?? "", status: answer.status ?? 0 }));
      pipe.once("close", () => resolve({ stdout: "", stderr: "killed", status: 137 }));
    });
    return { input: pipe, output: pipe, finished, stop: () => pipe.destroy() };
  }

  /** A reboot enumerated the disk under another name: its sectors go with it. */
  renameDevice(from: string, to: string): void {
    const disk = this.sectors.get(from);
    this.sectors.delete(from);
    if (disk) this.sectors.set(to, disk);
  }

  async readSectors(device: string, lba: number, count: number): Promise<Buffer> {
    const disk = this.sectors.get(device);
    return Buffer.concat(Array.from({ length: count }, (_, i) => disk?.get(lba + i) ?? Buffer.alloc(512)));
  }

  async writeSectors(device: string, lba: number, bytes: Uint8Array, what: string): Promise<void> {
    this.sectorWrites.push({ device, lba, sectors: bytes.length / 512, what, afterCommands: this.calls.length });
    const disk = this.sectors.get(device) ?? new Map<number, Buffer>();
    this.sectors.set(device, disk);
    for (let i = 0; i < bytes.length / 512; i++) disk.set(lba + i, Buffer.from(bytes.subarray(i * 512, (i + 1) * 512)));
  }

  async pipeInto(argv: readonly string[], source: AsyncIterable<Uint8Array>, options: RunOptions = {}): Promise<CommandResult> {
    for await (const _ of source) {
      // drain, as the real command would
    }
    return this.run(argv, options);
  }
}
