import type { Trainer } from "../../contract/trainer.js";
import { runSession } from "../session.js";
import { docsLoop } from "./docs-loop.js";

/** "Just use K + 1": the documentation loop accumulating K+1 micro-batches. */
export const kPlusOneTrainer: Trainer = {
  name: "k-plus-one",
  description: "the documentation loop with K+1 micro-batches per step",
  run: (scenario, dataset, options) =>
    runSession("k-plus-one", scenario, dataset, options, (session) =>
      docsLoop(session, scenario.accumulation + 1),
    ),
};
