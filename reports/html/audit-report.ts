import type { TrainerAuditOutcome } from "../../properties/outcome.js";
import type { Interrupted, RunStart } from "../reporter.js";
import { checkErrorMessage, interruptedSentence } from "../sentences/index.js";
import { plural, runWeightings, scenarioLabel, trainerLabel, weightingsText } from "../words.js";
import { errorDetails, renderCheckBody } from "./diagnosis-section.js";
import { escapeHtml } from "./escape.js";
import { heading, slug } from "./markup.js";
import { renderMetadata } from "./metadata.js";
import { renderMissionScenarios } from "./mission-scenarios.js";
import { NUMBERING_NOTE, renderPage } from "./page.js";
import { renderVerdictTable } from "./verdict-table.js";

/** The search part of a trainer's section: its counterexample, the case it could not run, or none. */
async function searchPart(audit: TrainerAuditOutcome, id: string, run: RunStart): Promise<string> {
  const search = audit.search;
  switch (search.kind) {
    case "refuted": {
      const c = search.counterexample;
      return renderCheckBody(c.check, {
        level: 4,
        id,
        counterexample: {
          seed: c.seed,
          path: c.path,
          shrinks: c.shrinks,
          casesRun: search.casesRun,
          replay: run.replay(audit.trainer, c.check.scenario),
        },
      });
    }
    case "error":
      return `<p>The property search could not check the trainer: at generated scenario ${search.casesRun} (${escapeHtml(scenarioLabel(search.check.scenario))}) it failed with: ${escapeHtml(checkErrorMessage(search.check.error))}. The search stops there rather than retry a broken trainer. Replay that case with:</p>
<pre><code>${escapeHtml(run.replay(audit.trainer, search.check.scenario))}</code></pre>${errorDetails(search.check.error)}`;
    case "passed": {
      const failedMissions = audit.regressions.filter((r) => r.verdict !== "pass").length;
      const but =
        failedMissions > 0
          ? `, but ${plural(failedMissions, "known counterexample")} below ${failedMissions === 1 ? "fails" : "fail"} too`
          : "";
      return `<p>The property search found no failing case in ${escapeHtml(plural(search.casesRun, "generated scenario"))}${escapeHtml(but)}.</p>`;
    }
  }
}

/** One trainer's article: its search (counterexample or outcome) and its mission scenarios. */
async function trainerSection(
  audit: TrainerAuditOutcome,
  id: string,
  run: RunStart,
): Promise<string> {
  const [search, missions] = await Promise.all([
    searchPart(audit, id, run),
    renderMissionScenarios({
      checks: audit.regressions,
      id,
      level: 4,
      advise: audit.search.kind !== "refuted",
    }),
  ]);
  return `<article class="trainer trainer-${audit.verdict}" aria-labelledby="${escapeHtml(id)}">${heading(3, trainerLabel(audit.trainer, audit.trainerInfo), id)}${search}\n${missions}</article>`;
}

const GROUPS = [
  { verdict: "fail", title: "Failing trainers", id: "failing" },
  { verdict: "error", title: "Trainers that could not be checked", id: "errors" },
  { verdict: "pass", title: "Passing trainers", id: "passing" },
] as const;

/**
 * The audit as one self-contained HTML page: verdict table, then a section per trainer (failing
 * ones first, then those that could not be checked, then passing ones) with its shrunk
 * counterexample, explanation, replay command and charts where its search failed, and its
 * results on the mission scenarios with their charts; then the run metadata. The same trainer
 * may appear twice. Formats only what it is given.
 */
export async function renderAuditReport(input: {
  audits: readonly TrainerAuditOutcome[];
  run: RunStart;
  /** Marks an audit that a signal ended early. */
  interrupted?: Interrupted;
}): Promise<string> {
  const { audits, run, interrupted } = input;
  const meta = run.meta;
  const anchors = audits.map((a, i) => `trainer-${i}-${slug(a.trainer)}`);
  const groups = await Promise.all(
    GROUPS.map(async (g) => {
      const members = audits.flatMap((a, i) => (a.verdict === g.verdict ? [i] : []));
      const sections = await Promise.all(
        members.map((i) => trainerSection(audits[i] as TrainerAuditOutcome, anchors[i] ?? "", run)),
      );
      return { ...g, count: members.length, sections };
    }),
  );
  const count = (verdict: string) => groups.find((g) => g.verdict === verdict)?.count ?? 0;
  const missions = audits.flatMap((a) => a.regressions);
  const missionSummary =
    missions.length === 0
      ? ""
      : ` Known counterexamples: ${missions.filter((r) => r.verdict === "pass").length} of ${plural(missions.length, "check")} passed.`;
  const summary =
    `${plural(audits.length, "trainer")} audited: ${count("pass")} passed, ` +
    `${count("fail")} failed, ${count("error")} could not be checked.${missionSummary}`;
  const stopped = interrupted
    ? `<p class="interrupted"><strong>${escapeHtml(interruptedSentence(interrupted))}</strong></p>`
    : "";
  const header = `${heading(1, "accumaudit audit report")}${stopped}<p class="lead">${escapeHtml(summary)} ${escapeHtml(
    `Seed ${meta.seed}, ${plural(meta.runs ?? 0, "run")} per trainer, ${meta.date}. Weighting: ${weightingsText(runWeightings(meta, audits))}.`,
  )}</p><p class="lead">${escapeHtml(NUMBERING_NOTE)}</p>`;
  const main = [
    `<section aria-labelledby="verdicts">${heading(2, "Verdicts", "verdicts")}${renderVerdictTable(audits, anchors)}</section>`,
    ...groups.map((g) =>
      g.count > 0
        ? `<section aria-labelledby="${g.id}">${heading(2, g.title, g.id)}${g.sections.join("\n")}</section>`
        : "",
    ),
    renderMetadata(meta, 2),
  ]
    .filter(Boolean)
    .join("\n");
  return renderPage({
    title: `accumaudit audit${interrupted ? " (interrupted)" : ""}: ${count("fail")} of ${plural(audits.length, "trainer")} ${count("fail") === 1 ? "fails" : "fail"}`,
    header,
    main,
    footer: `Generated by accumaudit ${escapeHtml(meta.harnessVersion)}. This file is self-contained: it loads nothing from the network.`,
  });
}
