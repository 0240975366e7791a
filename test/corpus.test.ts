import { readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mistakesOf } from "../reports/advice.js";
import type { ScenarioInput } from "../trainers/contract/scenario.js";
import { judgePython } from "./support/python-checks.js";

/**
 * The corpus: gradient-accumulation loops of public repositories, each re-expressed in our own
 * code on the probe (test/corpus/loops/, one module per loop, its docstring citing the source
 * repository, path and commit). Every case says what reading the source shows: the verdict and
 * exactly the mistakes the advice must name. The advice's precision on the corpus is this test.
 */
interface CorpusCase {
  scenario: ScenarioInput;
  verdict: "pass" | "fail";
  mistakes: string[];
  why: string;
}

interface CorpusLoop {
  id: string;
  /** The trainer, `python:MODULE:FUNCTION`, its module under test/corpus. */
  trainer: string;
  sampling?: "replacement";
  /** A repository's file at a commit, or (a forum answer) the page's address. */
  source: { repo: string | null; path: string | null; commit: string | null; url: string };
  cases: CorpusCase[];
}

const here = dirname(fileURLToPath(import.meta.url));
const corpus: CorpusLoop[] = JSON.parse(readFileSync(join(here, "corpus", "corpus.json"), "utf8"));
const cases = corpus.flatMap((loop) =>
  loop.cases.map((c, index) => ({ loop, c, name: `${loop.id} #${index + 1}` })),
);

/** Each case's outcome: the advice named what reading the source shows, something else, or less. */
const tally = { right: 0, wrong: 0, none: 0 };

describe("the corpus of real accumulation loops", () => {
  let pythonPath: string | undefined;
  beforeAll(() => {
    pythonPath = process.env.PYTHONPATH;
    process.env.PYTHONPATH = [join(here, "corpus"), pythonPath].filter(Boolean).join(delimiter);
  });
  afterAll(() => {
    if (pythonPath === undefined) delete process.env.PYTHONPATH;
    else process.env.PYTHONPATH = pythonPath;
    console.log(
      `corpus: ${corpus.length} loops, ${cases.length} cases; advice right ${tally.right}, wrong ${tally.wrong}, none ${tally.none}`,
    );
  });

  it("holds at least 15 loops of public repositories, each citing its file at a commit", () => {
    const fromRepositories = corpus.filter((loop) => loop.source.repo !== null);
    const files = fromRepositories.map(
      (l) => `${l.source.repo}/${l.source.path}@${l.source.commit}`,
    );
    expect(new Set(files).size).toBeGreaterThanOrEqual(15);
    for (const loop of fromRepositories) expect(loop.source.commit).toMatch(/^[0-9a-f]{40}$/);
    for (const loop of corpus) expect(loop.source.url).toMatch(/^https:\/\//);
  });

  it.each(cases)("$name: verdict and advice as reading the source says", async ({ loop, c }) => {
    const check = await judgePython(loop.trainer, c.scenario);
    const named = mistakesOf(check);
    const expected = [...c.mistakes].sort();
    const wrong = named.filter((id) => !expected.includes(id));
    if (wrong.length > 0) tally.wrong++;
    else if (named.length < expected.length) tally.none++;
    else tally.right++;
    expect({ verdict: check.verdict, mistakes: [...named].sort() }, c.why).toEqual({
      verdict: c.verdict,
      mistakes: expected,
    });
  });
});
