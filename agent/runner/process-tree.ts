import { readdirSync, readFileSync } from "node:fs";

/**
 * Kills a process and every descendant with SIGKILL. Read from /proc, not `ps` (the tiny system has
 * no ps, which zx's own kill needs): zx starts each command under bash, and a grandchild left alive
 * would keep the output pipes open, so the wait for the killed command would hang in turn.
 */
export function killProcessTree(pid: number): void {
  for (const victim of [pid, ...descendantsOf(pid, parentsByPid())]) {
    try {
      process.kill(victim, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

export function descendantsOf(pid: number, parents: ReadonlyMap<number, number>): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parents) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentPidOf(entry);
    if (ppid !== undefined) parents.set(Number(entry), ppid);
  }
  return parents;
}

function parentPidOf(pid: string): number | undefined {
  try {
    // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
    return ppid === undefined ? undefined : Number(ppid);
  } catch {
    return undefined;
  }
}
