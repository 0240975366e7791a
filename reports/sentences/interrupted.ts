import { printable } from "../printable.js";
import type { Interrupted } from "../reporter.js";
import { plural } from "../words.js";

/** "Interrupted by SIGINT after 1 of 3 trainers; not reached: python:lightning, reference." */
export function interruptedSentence(i: Interrupted): string {
  const notReached =
    i.notReached.length > 0 ? `; not reached: ${i.notReached.map(printable).join(", ")}` : "";
  return `Interrupted by ${i.signal} after ${i.completed} of ${plural(i.total, "trainer")}${notReached}.`;
}
