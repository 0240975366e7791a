import { describe, expect, it, vi } from "vitest";
import {
  docsLoopCheck,
  judge,
  judgeLoop,
  largeCheck,
  noStepCheck,
  passingCheck,
  twoLoopCheck,
} from "../../test/support/outcomes.js";
import { simulateDataParallelTrace, simulateTrace } from "../../test/support/simulated-trace.js";
import { renderChartSvg } from "./chart-svg.js";
import { errorChart } from "./error-chart.js";
import { weightHeatmap } from "./heatmap.js";

describe("weightHeatmap", () => {
  it("draws nothing when no step was applied, and names a lone step and sample", () => {
    expect(weightHeatmap(noStepCheck())).toBeNull();
    expect(errorChart(noStepCheck())).toBeNull();
    const one = weightHeatmap(
      judgeLoop({ datasetSize: 1, batchSize: 1, accumulation: 2 }, "tail-step"),
    );
    expect(one?.summary).toMatch(
      /^Heatmap of the weight the one step \(across\) gave the one sample \(down\) over 1 epoch\./,
    );
  });

  it("names only the markers that are there", () => {
    expect(weightHeatmap(passingCheck())?.summary).toMatch(
      /No occurrence leaked, was applied twice or was lost: there are no markers\.$/,
    );
    const docs = weightHeatmap(docsLoopCheck())?.summary ?? "";
    expect(docs).toContain(
      '14 occurrences leaked into a later epoch (outlined, triangle marker). The "Not applied" panel shows 14 lost occurrences (cross marker).',
    );
    expect(docs).not.toContain("more than once");
  });

  it("draws one cell per step and sample bin for a small run", () => {
    const chart = weightHeatmap(docsLoopCheck());
    // 6 steps: 32 samples each in steps 0-2 and 4-5, 46 in step 3.
    expect(chart?.cells).toBe(32 * 5 + 46);
  });

  it("bins a long run with N = 10,000 to at most 120 x 110 cells", () => {
    const chart = weightHeatmap(largeCheck());
    expect(chart?.cells).toBeGreaterThan(1000);
    expect(chart?.cells).toBeLessThanOrEqual(120 * 110);
    expect(chart?.summary).toContain(
      "steps in 105 epoch-aligned bins of up to 5, samples in bins of 91",
    );
  });

  it("renders to SVG without warnings or loads, with a colour legend centred on 1", async () => {
    const fetch = vi.spyOn(globalThis, "fetch");
    const log = { warnings: [] as string[] };
    const chart = weightHeatmap(twoLoopCheck());
    if (!chart) throw new Error("two-loop: expected a heatmap");
    const svg = await renderChartSvg(chart.spec, "t", log);
    expect(log.warnings).toEqual([]);
    expect(svg).toContain("weight ÷");
    expect(svg).toContain('id="t-gradient_0"');
    expect(chart.summary).toContain("the ratio furthest from 1 is 1.173");
    expect(fetch).not.toHaveBeenCalled();
    fetch.mockRestore();
  });
});

describe("errorChart", () => {
  it("draws weights and body against their tolerances", async () => {
    const chart = errorChart(twoLoopCheck());
    if (!chart) throw new Error("two-loop: expected an error chart");
    expect(chart.summary).toContain(
      "Weights: largest 0.1731 against tolerance 1e-4, 1 step above it",
    );
    const log = { warnings: [] as string[] };
    const svg = await renderChartSvg(chart.spec, "e", log);
    expect(log.warnings).toEqual([]);
    expect(svg).toContain("weight tolerance");
    expect(svg).toContain("body tolerance");
  });
});

describe("renderChartSvg", () => {
  it("refuses a spec that would load data from a URL", async () => {
    await expect(
      renderChartSvg(
        {
          data: { url: "https://example.com/data.json" },
          mark: "point",
          encoding: { x: { field: "a", type: "quantitative" } },
        },
        "u",
      ),
    ).rejects.toThrow(/expected inline data only/);
  });
});

describe("unusual traces", () => {
  it("marks a NaN weight and a skipped step and still renders cleanly", async () => {
    const trace = simulateTrace(
      { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2 },
      "docs-loop",
    );
    const steps = trace.steps.map((s, t) => {
      if (t === 1)
        return { ...s, skipped: true, fingerprint: { epochs: [], samples: [], weights: [] } };
      if (t === 2)
        return {
          ...s,
          fingerprint: { ...s.fingerprint, weights: s.fingerprint.weights.map(() => Number.NaN) },
        };
      return s;
    });
    const odd = judge({ ...trace, steps });
    const log = { warnings: [] as string[] };
    const heatmap = weightHeatmap(odd);
    const errors = errorChart(odd);
    if (!heatmap || !errors) throw new Error("expected both charts");
    const svg = await renderChartSvg(heatmap.spec, "h", log);
    await renderChartSvg(errors.spec, "e", log);
    expect(log.warnings).toEqual([]);
    expect(svg).toContain("unexpected");
    expect(errors.summary).toContain("1 skipped step marked with a cross");
  });
});

describe("a data-parallel run", () => {
  it("gets a Rank panel beside the heatmap that says which rank fed each sample", async () => {
    const check = judge(
      simulateDataParallelTrace(
        { datasetSize: 11, batchSize: 2, accumulation: 3, epochs: 2, worldSize: 2 },
        "ddp-tail-step",
      ),
    );
    const chart = weightHeatmap(check);
    if (!chart) throw new Error("expected a heatmap");
    expect(chart.summary).toContain(
      'The "Rank" panel colours each sample by the rank of the 2 ranks whose loader fed it in each epoch.',
    );
    const log = { warnings: [] as string[] };
    const svg = await renderChartSvg(chart.spec, "r", log);
    expect(log.warnings).toEqual([]);
    expect(svg).toContain("rank 1");
    expect(weightHeatmap(twoLoopCheck())?.summary).not.toContain("Rank");
  });
});
