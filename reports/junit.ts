import { createRequire } from "node:module";
import type { Builder, TestSuite } from "junit-report-builder";
import {
  type CheckOutcome,
  propertiesFor,
  type TrainerAuditOutcome,
} from "../properties/outcome.js";
import { type FileContents, FileReporter } from "./file-reporter.js";
import { leftOutText } from "./pins.js";
import type { RunStart } from "./reporter.js";
import { checkErrorMessage, propertyMessage } from "./sentences/index.js";
import { frameworkLabel, plural, runWeightings, scenarioLabel, weightingsText } from "./words.js";

// The package is CommonJS whose module.exports is a builder; its types declare an ES default export.
const junitReportBuilder = createRequire(import.meta.url)("junit-report-builder") as Builder;

/** Where a set of testcases comes from: the search's counterexample, a regression scenario, a check. */
interface CaseSource {
  /** The testcases' class name, e.g. `docs-loop.search`. */
  className: string;
  /** What the property was checked on, e.g. "the shrunk counterexample N 1 · B 1 · K 2 · 1 epoch". */
  on: string;
  /** Lines that tell how to replay the case, shown with a failure or an error. */
  replay: string[];
}

/** One testcase per property of a judged check; one errored testcase for a check that could not run. */
function addCheckCases(suite: TestSuite, check: CheckOutcome, source: CaseSource): void {
  const seconds = (check.durationMs ?? 0) / 1000;
  if (check.verdict === "error") {
    suite
      .testCase()
      .className(source.className)
      .name(`every property on ${source.on}`)
      .time(seconds)
      .error(checkErrorMessage(check.error), "could not be checked", source.replay.join("\n"));
    return;
  }
  for (const property of propertiesFor(check.scenario.worldSize, check.scenario)) {
    const testCase = suite
      .testCase()
      .className(source.className)
      .name(`${property} on ${source.on}`)
      .time(seconds);
    const message = propertyMessage(check, property);
    if (property === "weighting" && check.properties.weighting.weightedSteps === 0)
      testCase.skipped().standardOutput(message);
    else if (check.properties[property].ok) testCase.standardOutput(message);
    else testCase.failure(message, property).stacktrace(source.replay.join("\n"));
  }
}

/** A trainer's testsuite: its search (counterexample, error or passed properties) and regressions. */
function addAuditSuite(builder: Builder, audit: TrainerAuditOutcome, run: RunStart): void {
  const suite = builder.testSuite().name(audit.trainer);
  suite.property("framework", frameworkLabel(audit.trainerInfo));
  suite.property("verdict", audit.verdict);
  suite.property("weighting", weightingsText(runWeightings(run.meta, [audit])));
  const { search } = audit;
  const className = `${audit.trainer}.search`;
  if (search.kind === "passed")
    for (const property of propertiesFor(audit.worldSizes[1]))
      suite
        .testCase()
        .className(className)
        .name(`${property} on ${plural(search.casesRun, "generated scenario")}`);
  if (search.kind === "refuted") {
    const c = search.counterexample;
    addCheckCases(suite, c.check, {
      className,
      on: `the shrunk counterexample ${scenarioLabel(c.check.scenario)}`,
      replay: [
        `replay: ${run.replay(audit.trainer, c.check.scenario)}`,
        `search replay: ${run.searchReplay?.(c.seed, c.path) ?? `--seed ${c.seed} --path ${c.path}`} (found after ${plural(search.casesRun, "generated scenario")}, shrunk in ${plural(c.shrinks, "step")})`,
      ],
    });
  }
  if (search.kind === "error")
    addCheckCases(suite, search.check, {
      className,
      on: `generated scenario ${search.casesRun} (${scenarioLabel(search.check.scenario)})`,
      replay: [`replay: ${run.replay(audit.trainer, search.check.scenario)}`],
    });
  for (const check of audit.regressions)
    addCheckCases(suite, check, {
      className: `${audit.trainer}.regressions`,
      on: scenarioLabel(check.scenario),
      replay: [`replay: ${run.replay(audit.trainer, check.scenario)}`],
    });
  for (const leftOut of run.regressionsLeftOut ?? [])
    suite
      .testCase()
      .className(`${audit.trainer}.regressions`)
      .name(`every property on ${scenarioLabel(leftOut.scenario)}: left out`)
      .skipped()
      .standardOutput(leftOutText(leftOut));
}

/**
 * The JUnit XML of a check or an audit, so that a CI system shows it as tests: a testsuite per
 * trainer (its properties name the framework and the weighting checked), a testcase per property
 * per scenario (the shrunk counterexample and each regression scenario), a failure per refuted
 * property with its message and the replay command, an error per check that could not run.
 */
export function renderJunit({ run, audits, check, interrupted }: FileContents): string {
  const builder = junitReportBuilder.newBuilder().name(`accumaudit ${run.kind}`);
  for (const audit of audits) addAuditSuite(builder, audit, run);
  for (const trainer of interrupted?.notReached ?? [])
    builder
      .testSuite()
      .name(trainer)
      .testCase()
      .className(`${trainer}.search`)
      .name(`not reached: interrupted by ${interrupted?.signal}`)
      .skipped();
  if (check) {
    const suite = builder.testSuite().name(check.trainer);
    suite.property("framework", frameworkLabel(check.trainerInfo));
    suite.property("weighting", weightingsText([check.scenario.weighting]));
    addCheckCases(suite, check, {
      className: `${check.trainer}.check`,
      on: scenarioLabel(check.scenario),
      replay: [`replay: ${run.replay(check.trainer, check.scenario)}`],
    });
  }
  return builder.build();
}

/** The JUnit XML file of a check or an audit, rewritten after every trainer. */
export class JunitReporter extends FileReporter {
  constructor(path: string, announce?: NodeJS.WritableStream) {
    super(path, "junit", renderJunit, announce);
  }
}
