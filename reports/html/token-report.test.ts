import { describe, expect, it } from "vitest";
import { judgeLoop, passingCheck, testRun } from "../../test/support/outcomes.js";
import {
  tokenAuditFixture,
  tokenCounterexampleCheck,
  tokenTwoLoopCheck,
} from "../../test/support/token-outcomes.js";
import { escapeHtml } from "./escape.js";
import { renderAuditReport, renderCheckReport } from "./index.js";

const checkRun = { ...testRun("check"), meta: { ...testRun("check").meta, weighting: "tokens" } };

/** The `<tr>` of a table whose row header is `header`. */
function row(html: string, header: string): string {
  const start = html.indexOf(`<tr><th scope="row">${escapeHtml(header)}</th>`);
  if (start < 0) throw new Error(`${header}: expected a table row`);
  return html.slice(start, html.indexOf("</tr>", start));
}

describe("HTML under token weighting", () => {
  it("shows the weighting and each sample's loss tokens in the scenario panel and the weights table", async () => {
    const page = await renderCheckReport({ check: tokenCounterexampleCheck(), run: checkRun });
    expect(page).toContain(
      `weighting: ${escapeHtml("loss tokens (each loss token counts the same)")}`,
    );
    expect(row(page, "weighting")).toContain(
      "<td>loss tokens (each loss token counts the same)</td>",
    );
    expect(row(page, "loss tokens")).toContain("<td>1,2</td>");
    expect(page).toContain("Loss tokens per sample, from sample 0: 1, 2 (3 loss tokens in all).");
    expect(row(page, "loss tokens n_i")).toBe(
      '<tr><th scope="row">loss tokens n_i</th><td>1</td><td>2</td>',
    );
    expect(page).toContain("<td>1/2 (expected 1/3)</td>");
    expect(page).toContain("<td>1/2 (expected 2/3)</td>");
    expect(page).toContain(
      "where it is not n_i/T_W (the sample&#39;s loss tokens over its window&#39;s)",
    );
    expect(page).toContain(
      "<dt>Weighting</dt><dd>loss tokens (each loss token counts the same)</dd>",
    );
  });

  it("shows the failed step's micro-batches with their loss tokens and what a loss token weighed", async () => {
    const page = await renderCheckReport({ check: tokenTwoLoopCheck(), run: checkRun });
    expect(page).toContain(
      "Micro-batches of window 1 of epoch 1 (4 samples, 6 loss tokens), matched to step 1; the step&#39;s loss scaling: each micro-batch&#39;s token mean divided by K = 2, the window&#39;s micro-batches",
    );
    expect(row(page, "micro-batch 1")).toBe(
      '<tr><th scope="row">micro-batch 1</th><td class="num">2</td><td class="num">4</td><td class="num">1/2</td><td class="num">1/8</td><td class="num">1/6</td>',
    );
    expect(row(page, "micro-batch 2")).toContain('<td class="num">2</td><td class="num">2</td>');
    expect(row(page, "micro-batch 2")).toContain('<td class="num">1/4</td>');
    expect(page).toContain("matched window (samples, loss tokens)");
    expect(page).toContain("epoch 1, window 1 (4, 6)");
    expect(page).toContain(
      "micro-batch 1 holds 2 samples with 4 loss tokens, micro-batch 2 holds 2 samples with 2 loss tokens",
    );
  });

  it("holds the heatmap's colours to n_i/T_W and cuts a long list of loss tokens", async () => {
    const check = judgeLoop(
      { datasetSize: 110, batchSize: 8, accumulation: 4, epochs: 2, weighting: "tokens" },
      "docs-loop",
    );
    const page = await renderCheckReport({ check, run: checkRun });
    expect(page).toContain(
      "Colour is weight divided by the expected weight n_i/T_W (the sample&#39;s loss tokens over its window&#39;s)",
    );
    expect(page).toMatch(
      /Loss tokens per sample, from sample 0: (\d, ){39}\d and 70 more \(\d+ loss tokens in all\)/,
    );
    expect(row(page, "loss tokens")).toContain("<td>1-8</td>");
  });

  it("keeps the sample-weighted page free of loss tokens", async () => {
    const page = await renderCheckReport({ check: passingCheck(), run: testRun("check") });
    expect(page).toContain("weighting: samples (each sample counts the same)");
    expect(page).not.toContain("loss token");
    expect(page).not.toContain("undefined");
  });

  it("names the weighting in the audit's header and metadata, and lists loss tokens per known counterexample", async () => {
    const { audits, run } = await tokenAuditFixture();
    const page = await renderAuditReport({ audits, run });
    expect(page).toContain("Weighting: loss tokens (each loss token counts the same).");
    expect(page).toContain(
      "<dt>Weighting</dt><dd>loss tokens (each loss token counts the same)</dd>",
    );
    expect(page).toContain(
      '<th scope="col">N 110 · B 8 · K 4 · 2 epochs · weighting tokens · loss tokens 1-8</th>',
    );
    expect(page.match(/<p class="loss-tokens">/g)?.length).toBeGreaterThanOrEqual(5);
    expect(page).toContain(
      escapeHtml(
        "accumaudit check --trainer docs-loop --dataset-size 2 --batch-size 1 --accumulation 2 --weighting tokens --lengths 1,2",
      ),
    );
  });
});
