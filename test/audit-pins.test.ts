import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { auditTrainer } from "../properties/audit.js";
import type { ScenarioPins } from "../properties/pinned-size.js";
import type { trainerAuditJson } from "../reports/json.js";
import type { Scenario } from "../trainers/contract/scenario.js";
import type { Trainer } from "../trainers/contract/trainer.js";
import { createTfjsTrainers } from "../trainers/tfjs/index.js";

/** `audit` pins any scenario field given as a flag: the search, the counterexample, the replays. */

type AuditJson = {
  pinned: ScenarioPins;
  regressionsLeftOut: Array<{ scenario: Scenario; reason: { kind: string }; message: string }>;
  trainers: Array<ReturnType<typeof trainerAuditJson>>;
};

const root = join(import.meta.dirname, "..");
const bin = join(root, "dist", "cli", "main.js");

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A built-in trainer that records every scenario it is asked to run. */
function recording(name: string): { trainer: Trainer; seen: Scenario[] } {
  const inner = createTfjsTrainers().find((t) => t.name === name);
  if (!inner) throw new Error(`no built-in trainer ${name}`);
  const seen: Scenario[] = [];
  const trainer: Trainer = {
    name: inner.name,
    description: inner.description,
    run: (scenario, dataset, options) => {
      seen.push(scenario);
      return inner.run(scenario, dataset, options);
    },
  };
  return { trainer, seen };
}

describe("audit with pinned scenario fields", () => {
  it.each([
    [{ dropLast: true }, { datasetSize: 1, batchSize: 1, accumulation: 2 }],
    [
      { batchSize: 16, accumulation: 4, epochs: 2, shuffle: 5 },
      { datasetSize: 1, worldSize: 1, dropLast: false },
    ],
  ] as const)(
    "docs-loop under %j: every case and the shrunk counterexample keep the pins",
    async (pinned, minimal) => {
      const { trainer, seen } = recording("docs-loop");
      const audit = await auditTrainer(trainer, { runs: 50, seed: 1, space: { pinned } });
      if (audit.search.kind !== "refuted") throw new Error("expected a counterexample");
      expect(seen.length).toBeGreaterThan(1);
      for (const scenario of seen) expect(scenario).toMatchObject(pinned);
      const { scenario } = audit.search.counterexample.check;
      expect(scenario).toMatchObject({ ...pinned, ...minimal });
      expect(audit.search.counterexample.check.properties.coverage.ok).toBe(false);
    },
  );

  it("--drop-last: the counterexample and the known counterexample kept have drop_last; 1000/128/4 is named as left out", () => {
    const args = ["audit", "--trainer", "docs-loop", "--drop-last", "--runs", "50", "--seed", "1"];
    const { code, stdout } = cli(...args, "--json");
    expect(code).toBe(1);
    const audit = JSON.parse(stdout) as AuditJson;
    expect(audit.pinned).toEqual({ dropLast: true });
    const [docs] = audit.trainers;
    expect(docs?.counterexample?.scenario.dropLast).toBe(true);
    expect(docs?.counterexample?.replay).toMatch(/ --drop-last( |$)/);
    expect(docs?.regressions.map((r) => [r.scenario.datasetSize, r.scenario.dropLast])).toEqual([
      [110, true],
    ]);
    expect(audit.regressionsLeftOut).toHaveLength(1);
    expect(audit.regressionsLeftOut[0]).toMatchObject({
      scenario: { datasetSize: 1000, batchSize: 128, accumulation: 4, dropLast: false },
      reason: { kind: "last-micro-batch-dropped" },
    });
    const text = cli(...args).stdout.split("\n");
    expect(text.slice(1, 3)).toEqual([
      "pinned in every scenario: drop_last",
      `known counterexample left out: ${audit.regressionsLeftOut[0]?.message}`,
    ]);
    expect(audit.regressionsLeftOut[0]?.message).toMatch(/^1000\/128\/4 x1: .*drop_last drops/);
  });

  it("prints replays that carry the pins, and its search replay finds the same counterexample", () => {
    const pins = ["--batch-size", "16", "--accumulation", "4", "--epochs", "2", "--shuffle", "5"];
    const first = cli("audit", "--trainer", "two-loop", ...pins, "--runs", "30", "--seed", "3");
    expect(first.code).toBe(1);
    const replay = /^ {2}replay: .*? (check --trainer .*)$/m.exec(first.stdout)?.[1] ?? "";
    const search = /^ {2}search replay: (.*)$/m.exec(first.stdout)?.[1] ?? "";
    expect(replay).toMatch(/--batch-size 16 --accumulation 4 --epochs 2 --shuffle 5$/);
    expect(search).toMatch(
      /^--seed 3 --path [\d:]+ --batch-size 16 --accumulation 4 --epochs 2 --shuffle 5$/,
    );
    const checked = cli(...replay.split(" "), "--json");
    expect(checked.code).toBe(1);
    const again = cli("audit", "--trainer", "two-loop", ...search.split(" "), "--json");
    const audit = JSON.parse(again.stdout) as AuditJson;
    const counterexample = audit.trainers[0]?.counterexample;
    expect(counterexample?.replay.endsWith(` ${replay}`)).toBe(true);
    expect(counterexample?.scenario).toMatchObject({ batchSize: 16, accumulation: 4, epochs: 2 });
    // The known counterexamples take the pins too: 110/16/4 and 1000/16/4 over 2 epochs.
    expect(audit.trainers[0]?.regressions.map((r) => r.scenario.batchSize)).toEqual([16, 16]);
    expect(audit.regressionsLeftOut).toEqual([]);
  });

  it.each([
    [
      ["--dataset-size", "200", "--max-dataset-size", "100"],
      "--dataset-size: expected at most --max-dataset-size 100, saw 200",
    ],
    [["--epochs", "4", "--max-epochs", "3"], "--epochs: expected at most --max-epochs 3, saw 4"],
    [
      ["--drop-last", "--batch-size", "32", "--world-size", "2", "--max-dataset-size", "50"],
      "--max-dataset-size: expected at least 64 (what --drop-last, --batch-size, --world-size need), saw 50",
    ],
    [
      ["--drop-last", "--dataset-size", "10", "--batch-size", "16"],
      "--dataset-size: expected at least 16 (what --drop-last, --batch-size need), saw 10",
    ],
    // The same one-line errors as `check` gives.
    [["--batch-size", "0"], "--batch-size: expected at least 1, saw 0"],
    [["--accumulation", "1e3"], '--accumulation: expected a whole number, saw "1e3"'],
    [["--precision", "fp64"], '--precision: expected one of fp32, fp16, bf16, saw "fp64"'],
    [
      ["--lengths", "3,1"],
      "--lengths: loss-token counts apply to token weighting only (set weighting to tokens)",
    ],
    [
      ["--dataset-size", "1000000", "--epochs", "3"],
      "--dataset-size: expected datasetSize x epochs at most 2000000",
    ],
  ])("%j is a usage error naming the flags, before any training", (flags, message) => {
    const { code, stdout, stderr } = cli("audit", "--trainer", "docs-loop", ...flags);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain(message);
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });

  it("a bad value is the error check gives for it", () => {
    const flags = ["--dataset-size", "4", "--batch-size", "2", "--accumulation", "2"];
    for (const bad of [
      ["--shuffle", "-1"],
      ["--learning-rate", "0"],
      ["--world-size", "9"],
    ]) {
      const check = cli("check", "--trainer", "docs-loop", ...flags, ...bad);
      const audit = cli("audit", "--trainer", "docs-loop", ...bad);
      expect(audit.stderr, bad.join(" ")).toBe(check.stderr);
      expect(audit.code).toBe(2);
    }
  });

  it("audit --help documents the pins and every scenario flag", () => {
    const { code, stdout } = cli("audit", "--help");
    expect(code).toBe(0);
    expect(stdout).toContain("[--dataset-size N] [--batch-size B] [--accumulation K]");
    expect(stdout).toContain("[--precision fp32|fp16|bf16]...");
    expect(stdout).toContain("A scenario flag pins its field");
    expect(stdout).toMatch(/^ {2}--drop-last +drop the epoch's last micro-batch/m);
  });
});
