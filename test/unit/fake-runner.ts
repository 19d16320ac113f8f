import { checkResult, type CommandResult, type Runner, type RunOptions } from "../../agent/runner/runner.ts";

type Responder = (argv: readonly string[]) => Partial<CommandResult> | undefined;

/** Records every command and answers from canned responses: the agent's commands tested as data. */
export class FakeRunner implements Runner {
  readonly dryRun = false;
  readonly calls: string[][] = [];
  private readonly responders: Responder[] = [];

  respond(responder: Responder): this {
    this.responders.push(responder);
    return this;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.calls.push([...argv]);
    const answer = this.responders.map((r) => r(argv)).find(Boolean) ?? {};
    return checkResult(argv, { stdout: "", stderr: "", status: 0, ...answer }, options);
  }

  async pipeInto(argv: readonly string[], source: AsyncIterable<Uint8Array>, options: RunOptions = {}): Promise<CommandResult> {
    for await (const _ of source) {
      // drain, as the real command would
    }
    return this.run(argv, options);
  }
}
