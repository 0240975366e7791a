import type { AuditResult, CheckDiagnosis, TrainerAudit } from "../../properties/result.js";
import { renderDiagnosis } from "./diagnosis-section.js";
import { escapeHtml, plural } from "./format.js";
import { heading, slug } from "./markup.js";
import type { ReportMeta } from "./meta.js";
import { renderMetadata } from "./metadata.js";
import { renderMissionScenarios } from "./mission-scenarios.js";
import { NUMBERING_NOTE, renderPage } from "./page.js";
import { regressionsOf, renderVerdictTable } from "./verdict-table.js";

function trainerTitle(t: TrainerAudit): string {
  const info = t.trainerInfo ?? t.counterexample?.result.trainerInfo;
  const fw = info?.framework
    ? ` (${[info.framework, info.frameworkVersion].filter(Boolean).join(" ")})`
    : "";
  return `${t.trainer}${fw}`;
}

/** What the property search found, for a trainer whose search has no counterexample. */
function searchOutcome(t: TrainerAudit): string {
  if (t.error)
    return `<p>The property search could not run the trainer: ${escapeHtml(t.error)}.</p>`;
  const failedMissions = regressionsOf(t).filter((r) => r.verdict !== "pass").length;
  const but =
    failedMissions > 0
      ? `, but ${plural(failedMissions, "mission scenario")} below ${failedMissions === 1 ? "does" : "do"} not pass`
      : "";
  return `<p>The property search found no failing case in ${escapeHtml(plural(t.casesRun, "generated scenario"))}${escapeHtml(but)}.</p>`;
}

/** The shrunk counterexample part of a trainer's section, or what the search found instead. */
async function searchPart(
  t: TrainerAudit,
  id: string,
  diagnosis: CheckDiagnosis | undefined,
): Promise<string> {
  const counterexample = t.counterexample;
  if (!counterexample) return searchOutcome(t);
  const d: CheckDiagnosis = diagnosis ?? {
    result: counterexample.result,
    trace: null,
    steps: [],
    occurrenceStatus: [],
    expectedWeight: [],
  };
  const body = await renderDiagnosis(d, { level: 4, id, counterexample, casesRun: t.casesRun });
  const missing = diagnosis
    ? ""
    : "<p>No trace was kept for this counterexample, so there are no charts.</p>";
  return `${body}${missing}`;
}

/** One trainer's article: its search (counterexample or outcome) and its mission scenarios. */
async function trainerSection(
  t: TrainerAudit,
  id: string,
  diagnosis: CheckDiagnosis | undefined,
  regressionDiagnoses: readonly CheckDiagnosis[] | undefined,
): Promise<string> {
  const [search, missions] = await Promise.all([
    searchPart(t, id, diagnosis),
    renderMissionScenarios({
      results: regressionsOf(t),
      ...(regressionDiagnoses ? { diagnoses: regressionDiagnoses } : {}),
      id,
      level: 4,
    }),
  ]);
  return `<article class="trainer trainer-${t.verdict}" aria-labelledby="${escapeHtml(id)}">${heading(3, trainerTitle(t), id)}${search}\n${missions}</article>`;
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
 * results on the mission scenarios with their charts; then the run metadata. `diagnoses` maps a
 * trainer name to the diagnosis of its counterexample, `regressionDiagnoses` to the diagnoses
 * of its mission scenarios in the order of its `regressions`. Formats only what it is given.
 */
export async function renderAuditReport(input: {
  audit: AuditResult;
  diagnoses: Record<string, CheckDiagnosis>;
  regressionDiagnoses?: Record<string, CheckDiagnosis[]>;
  meta: ReportMeta;
}): Promise<string> {
  const { audit, diagnoses, meta } = input;
  const regressionDiagnoses = input.regressionDiagnoses ?? {};
  const anchors = new Map<string, string>();
  audit.trainers.forEach((t, i) => {
    anchors.set(t.trainer, `trainer-${i}-${slug(t.trainer)}`);
  });
  const groups = await Promise.all(
    GROUPS.map(async (g) => {
      const trainers = audit.trainers.filter((t) => t.verdict === g.verdict);
      const sections = await Promise.all(
        trainers.map((t) =>
          trainerSection(
            t,
            anchors.get(t.trainer) ?? slug(t.trainer),
            diagnoses[t.trainer],
            regressionDiagnoses[t.trainer],
          ),
        ),
      );
      return { ...g, count: trainers.length, sections };
    }),
  );
  const count = (verdict: string) => groups.find((g) => g.verdict === verdict)?.count ?? 0;
  const missions = audit.trainers.flatMap((t) => regressionsOf(t));
  const missionSummary =
    missions.length === 0
      ? ""
      : ` Mission scenarios: ${missions.filter((r) => r.verdict === "pass").length} of ${plural(missions.length, "check")} passed.`;
  const summary =
    `${plural(audit.trainers.length, "trainer")} audited: ${count("pass")} passed, ` +
    `${count("fail")} failed, ${count("error")} could not be checked.${missionSummary}`;
  const header = `${heading(1, "accumaudit audit report")}<p class="lead">${escapeHtml(summary)} ${escapeHtml(
    `Seed ${audit.seed}, ${plural(audit.runs, "run")} per trainer, ${meta.date}.`,
  )}</p><p class="lead">${escapeHtml(NUMBERING_NOTE)}</p>`;
  const main = [
    `<section aria-labelledby="verdicts">${heading(2, "Verdicts", "verdicts")}${renderVerdictTable(audit, anchors)}</section>`,
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
    title: `accumaudit audit: ${count("fail")} of ${plural(audit.trainers.length, "trainer")} ${count("fail") === 1 ? "fails" : "fail"}`,
    header,
    main,
    footer: `Generated by accumaudit ${escapeHtml(meta.harnessVersion)}. This file is self-contained: it loads nothing from the network.`,
  });
}
