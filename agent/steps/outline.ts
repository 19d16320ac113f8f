import { formatArgv } from "../runner/argv-text.ts";
import { type Arg, type CommandEntry, type Condition, type Entry, isLater, plannedArgv } from "./entry.ts";

/** An entry as the plan shows it: its head line, the lines that qualify it, and what it contains. */
export interface Outline {
  head: string;
  details: string[];
  /** A choice's `then` side, an each's body. */
  children?: Outline[];
  /** A choice's `else` side. */
  otherwise?: Outline[];
}

export function outline(entries: readonly Entry[]): Outline[] {
  return entries.map(outlineOf);
}

function outlineOf(entry: Entry): Outline {
  const head = headLine(entry);
  switch (entry.kind) {
    case "command":
      return { head, details: [...laterLines(entry), ...conditionLines(entry.skipIf, "skip if"), ...retryLines(entry)] };
    case "write":
      return { head, details: [...conditionLines(entry.skipIf, "skip if"), ...askLines(entry.asks)] };
    case "check":
      return { head, details: askLines(entry.asks) };
    case "choice":
      return { head, details: askLines(entry.if.asks), children: outline(entry.then), otherwise: outline(entry.else) };
    case "each":
      return { head, details: [], children: outline(entry.body(entry.over.placeholder)) };
  }
}

/** The one line that names an entry, in the plan and in the record of a run alike. */
export function headLine(entry: Entry): string {
  switch (entry.kind) {
    case "command":
      return commandLine(entry);
    case "write":
      return `write ${argText(entry.target)}: ${entry.what}`;
    case "check":
      return `check: ${entry.says}`;
    case "choice":
      return `if ${entry.if.says}:`;
    case "each":
      return `for each ${entry.over.placeholder}:`;
  }
}

function commandLine(entry: CommandEntry): string {
  return `+ ${formatArgv(plannedArgv(entry.argv))}${entry.stdin ? ` < ${entry.stdin.file}` : ""}`;
}

function argText(arg: Arg): string {
  return isLater(arg) ? arg.placeholder : arg;
}

function conditionLines(condition: Condition | undefined, word: string): string[] {
  return condition ? [`${word} ${condition.says}`, ...askLines(condition.asks)] : [];
}

function askLines(asks: Condition["asks"]): string[] {
  return (asks ?? []).map((argv) => `  asks: + ${formatArgv(plannedArgv(argv))}`);
}

function laterLines(entry: CommandEntry): string[] {
  return entry.argv.flatMap((arg) => (isLater(arg) ? askLines(arg.asks) : []));
}

function retryLines(entry: CommandEntry): string[] {
  const retry = entry.retry;
  if (!retry) return [];
  const commands = (list: readonly CommandEntry[]) => list.map(commandLine).join("; ");
  return [
    `up to ${retry.attempts} attempts, each after: ${commands(retry.before)}`,
    ...(retry.otherwise ? [`all failed: ${commands(retry.otherwise)}`] : []),
  ];
}

/** The outline as indented text lines, for `va-agent plan`. */
export function outlineLines(nodes: readonly Outline[], indent: string): string[] {
  return nodes.flatMap((node) => [
    `${indent}${node.head}`,
    ...node.details.map((line) => `${indent}    ${line}`),
    ...(node.children ? outlineLines(node.children, `${indent}  `) : []),
    ...(node.otherwise ? [`${indent}else:`, ...(node.otherwise.length > 0 ? outlineLines(node.otherwise, `${indent}  `) : [`${indent}  nothing`])] : []),
  ]);
}
