import { expect, it } from "vitest";
import { measureWorkerThroughput } from "./worker-throughput.js";

it("measures the long-lived worker faster than a process per case", async () => {
  const figures = await measureWorkerThroughput({ cases: 3, trainer: "docs-loop" });
  console.log(JSON.stringify(figures));
  expect(figures.cases).toBe(3);
  expect(figures.longLived.casesPerSecond).toBeGreaterThan(0);
  expect(figures.speedup).toBeGreaterThan(1);
});
