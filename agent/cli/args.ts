import { UsageError } from "../errors/errors.ts";

export interface CliArgs {
  command: string;
  positional: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(["--staging", "--work-dir", "--target-root", "--manifest", "--machine", "--layout", "--after", "--keyring", "--reached-via"]);
const BOOLEAN_FLAGS = new Set(["--json", "--help", "--version", "-h", "-V", "--insecure", "--reboot", "--undo", "--accept-open-window", "--allow-downgrade", "--dry-run"]);

export function parseArgs(argv: string[]): CliArgs {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (VALUE_FLAGS.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      flags.set(name, value);
    } else if (BOOLEAN_FLAGS.has(name)) {
      flags.set(name, true);
    } else if (arg.startsWith("-")) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  const command = positional.shift() ?? (flags.has("--version") || flags.has("-V") ? "version" : "help");
  return { command, positional, flags };
}

export function stringFlag(args: CliArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  return typeof value === "string" ? value : undefined;
}
