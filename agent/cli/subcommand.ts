import { exitCodeOf, UsageError, VaError } from "../errors/errors.ts";

/**
 * The command line of a command with subcommands (`va-agent slot|snapshot|rescue SUB …`): its own
 * options, each allowed only where the subcommand takes it, `--name value` and `--name=value`.
 */
export interface SubcommandSpec<S extends string> {
  /** "slot": errors say `va-agent slot …` and point to `va-agent slot --help`. */
  tool: string;
  subcommands: readonly S[];
  valueOptions: readonly string[];
  booleanOptions: readonly string[];
  /** Taken by every subcommand. */
  common: readonly string[];
  /** Taken by a subcommand beyond the common ones. */
  extra: Record<S, readonly string[]>;
  /** Positional arguments a subcommand takes at most (default 0). */
  positional?: Partial<Record<S, number>>;
}

export interface SubcommandArgs<S extends string> {
  sub: S;
  positional: string[];
  /** The last value of each value option, `true` for a boolean one. */
  options: Map<string, string | true>;
  /** Every value of each value option, in order (`--lv a --lv b`). */
  values: Map<string, string[]>;
}

export function isHelpRequest(argv: readonly string[]): boolean {
  return argv.length === 0 || argv[0] === "help" || argv.some((arg) => arg === "--help" || arg === "-h");
}

export function usageHint(tool: string): string {
  return `Run \`va-agent ${tool} --help\` for the ${tool} commands and options.`;
}

export function parseSubcommandArgs<S extends string>(argv: readonly string[], spec: SubcommandSpec<S>): SubcommandArgs<S> {
  const hint = usageHint(spec.tool);
  const options = new Map<string, string | true>();
  const values = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (spec.valueOptions.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`, hint);
      options.set(name, value);
      values.set(name, [...(values.get(name) ?? []), value]);
    } else if (spec.booleanOptions.includes(name) && inline === undefined) {
      options.set(name, true);
    } else if (arg.startsWith("-")) {
      throw new UsageError(`unknown option ${arg} for va-agent ${spec.tool}`, hint);
    } else {
      positional.push(arg);
    }
  }
  const sub = positional.shift();
  if (!spec.subcommands.includes(sub as S)) throw new UsageError(`va-agent ${spec.tool} needs one of: ${spec.subcommands.join(", ")}${sub ? ` (not "${sub}")` : ""}`, hint);
  const command = sub as S;
  if (positional.length > (spec.positional?.[command] ?? 0)) throw new UsageError(`too many arguments for va-agent ${spec.tool} ${command}: ${positional.join(" ")}`, hint);
  for (const option of options.keys()) {
    if (!spec.common.includes(option) && !spec.extra[command].includes(option)) throw new UsageError(`va-agent ${spec.tool} ${command} does not take ${option}`, hint);
  }
  return { sub: command, positional, options, values };
}

export function stringOption(args: { options: Map<string, string | true> }, name: string): string | undefined {
  const value = args.options.get(name);
  return typeof value === "string" ? value : undefined;
}

/**
 * Runs a subcommand. Human mode rethrows an error for main's ERROR/next lines; --json prints it as
 * JSON on stdout (for the web UI) and returns its exit code.
 */
export async function runSubcommand(args: { sub: string; options: Map<string, string | true> }, write: (text: string) => void, body: (json: boolean) => Promise<number>): Promise<number> {
  const json = args.options.has("--json");
  try {
    return await body(json);
  } catch (error) {
    if (!json) throw error;
    write(`${JSON.stringify({ ok: false, command: args.sub, error: errorJson(error) }, null, 2)}\n`);
    return exitCodeOf(error);
  }
}

export function errorJson(error: unknown): Record<string, unknown> {
  if (error instanceof VaError) return { kind: error.kind, exitCode: error.exitCode, message: error.message, hint: error.hint, details: error.details };
  return { kind: "internal", exitCode: exitCodeOf(error), message: error instanceof Error ? error.message : String(error) };
}
