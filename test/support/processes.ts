import { execFileSync } from "node:child_process";

/** The process ids whose parent is `parent` (from `ps`). */
export function childrenOf(parent: number): number[] {
  let out = "";
  try {
    out = execFileSync("ps", ["-o", "pid=", "--ppid", String(parent)], { encoding: "utf8" });
  } catch {
    // ps exits 1 when there is no such process.
  }
  return out
    .split("\n")
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** Whether a process with this id still exists (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const state = execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" });
    return state.trim() !== "" && !state.trim().startsWith("Z");
  } catch {
    return false;
  }
}

/**
 * Waits until `probe` returns at least `atLeast` items, polling; the array, or what it last
 * returned after `timeoutMs`.
 */
export async function waitFor<T>(probe: () => T[], timeoutMs: number, atLeast = 1): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found.length >= atLeast || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until none of these processes is alive, or `timeoutMs` passes. */
export async function waitUntilGone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
}

/** Kills these processes that are still alive (a test's clean-up after it failed midway). */
export function killAlive(pids: readonly number[]): void {
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}
