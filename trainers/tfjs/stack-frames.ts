import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { TrainerFrame } from "../contract/trainer.js";

/** `    at fn (file:line:col)` or `    at file:line:col`, as V8 writes a stack frame. */
const FRAME = /^\s*at (?:(.+?) \()?(.+?):(\d+):\d+\)?$/;

function readablePath(location: string): string {
  if (!location.startsWith("file://")) return location;
  try {
    return fileURLToPath(location);
  } catch {
    return location;
  }
}

/**
 * The frames of a loop's own code in `error`'s stack, outermost first: those above the session
 * module `entryFile` that called the loop, less Node's own, node_modules (TensorFlow.js) and the
 * session's modules beside it (the gradients and optimizer a loop calls).
 */
export function loopFrames(error: unknown, entryFile: string): TrainerFrame[] {
  const stack = error instanceof Error ? (error.stack ?? "") : "";
  const sessionFolder = dirname(entryFile);
  const frames: TrainerFrame[] = [];
  for (const line of stack.split("\n").slice(1)) {
    const match = FRAME.exec(line);
    if (!match) continue;
    const file = readablePath(match[2] ?? "");
    if (file === entryFile) break;
    const sessionModule = dirname(file) === sessionFolder && !file.includes(".test.");
    if (file.startsWith("node:") || file.includes("/node_modules/") || sessionModule) continue;
    frames.push({
      file,
      line: Number(match[3]),
      function: match[1]?.replace(/^async /, "") ?? "<anonymous>",
      code: "",
    });
  }
  return frames.reverse();
}
