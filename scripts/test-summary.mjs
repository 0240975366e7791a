// Prints vitest's totals as one plain closing line, "N passed, N failed, N skipped".
import { readFileSync } from "node:fs";

const results = JSON.parse(readFileSync(process.argv[2] ?? ".vitest-results.json", "utf8"));
console.log(
  `${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests + results.numTodoTests} skipped`,
);
