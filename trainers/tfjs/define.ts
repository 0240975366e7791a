import type { Dataset } from "../contract/probe.js";
import type { Scenario } from "../contract/scenario.js";
import type { Trace } from "../contract/trace.js";
import { type RunOptions, type Trainer, TrainerError } from "../contract/trainer.js";
import { runSession, SESSION_FILE, type TrainingSession } from "./session.js";
import { loopFrames } from "./stack-frames.js";

/** A training loop written on a {@link TrainingSession}; it may be async. */
export type TfjsLoop = (session: TrainingSession) => void | Promise<void>;

/** What {@link defineTfjsTrainer} needs: a name for reports, the loop, and a line describing it. */
export interface TfjsTrainerDefinition {
  /** The name reports and replays use, e.g. `my-loop`. */
  name: string;
  loop: TfjsLoop;
  /** One line on how the loop accumulates (shown by `list`-like outputs). */
  description?: string;
}

/**
 * Your own TensorFlow.js accumulation loop as a trainer that `runCheck` and `auditTrainer` run: each
 * run opens a session on the scenario's probe model and loader, runs `loop` and returns its trace.
 * An exception in the loop becomes the check's error, naming the trainer, and carrying the loop's
 * frames (outermost first) as its traceback.
 */
export function defineTfjsTrainer(definition: TfjsTrainerDefinition): Trainer {
  const { name, loop } = definition;
  if (typeof name !== "string" || !/^\S+$/.test(name))
    throw new TypeError(
      `defineTfjsTrainer: name: expected a non-empty word, saw ${JSON.stringify(name)}`,
    );
  if (name.startsWith("python:"))
    throw new TypeError(
      `defineTfjsTrainer: name: "${name}" is taken by the Python trainers (python:...)`,
    );
  if (typeof loop !== "function")
    throw new TypeError(
      `defineTfjsTrainer: loop: expected a function (session) => void, saw ${typeof loop}`,
    );
  return {
    name,
    description: definition.description ?? "a TensorFlow.js loop defined with defineTfjsTrainer",
    run: async (scenario: Scenario, dataset: Dataset, options?: RunOptions): Promise<Trace> => {
      // TensorFlow.js's own frames between a loss closure and the loop fill V8's default ten.
      const stackLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = Math.max(stackLimit, 100);
      try {
        return await runSession(name, scenario, dataset, options, loop);
      } catch (error) {
        if (error instanceof TrainerError) throw error;
        const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        const frames = loopFrames(error, SESSION_FILE);
        const innermost = frames.at(-1);
        const where = innermost
          ? ` (${innermost.file.split("/").at(-1)}:${innermost.line} in ${innermost.function})`
          : "";
        throw new TrainerError(`${name}: ${text.split("\n")[0]}${where}`, {
          ...(frames.length > 0 ? { traceback: frames } : {}),
        });
      } finally {
        Error.stackTraceLimit = stackLimit;
      }
    },
  };
}
