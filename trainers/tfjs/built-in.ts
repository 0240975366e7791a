import type { Trainer } from "../contract/trainer.js";
import { docsLoopTrainer } from "./loops/docs-loop.js";
import { kPlusOneTrainer } from "./loops/k-plus-one.js";
import { referenceTrainer } from "./loops/reference.js";
import { tailStepTrainer } from "./loops/tail-step.js";
import { twoLoopTrainer } from "./loops/two-loop.js";

/**
 * The built-in TensorFlow.js trainers as they run where they are called, the reference last:
 * what a TensorFlow.js thread runs, and what `createTfjsTrainers` hands to the thread pool.
 */
export function directTfjsTrainers(): Trainer[] {
  return [docsLoopTrainer, tailStepTrainer, twoLoopTrainer, kPlusOneTrainer, referenceTrainer];
}
