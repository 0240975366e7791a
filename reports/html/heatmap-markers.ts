import { plural, wasWere } from "../words.js";

/** A column's run of marked cells: one outline and one marker. */
export interface Run {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  marker: string;
}

/** Above this many runs, a column's runs of one marker merge into one (keeps the page small). */
const MAX_MARKER_RUNS = 1500;

/**
 * Merges vertically adjacent marked cells of one column into runs, one outline and marker each;
 * when that leaves too many runs, each column's runs of one marker become a single span.
 */
export function markerRuns(cells: readonly Run[]): Run[] {
  const runs = adjacentRuns(cells);
  if (runs.length <= MAX_MARKER_RUNS) return runs;
  const spans = new Map<string, Run>();
  for (const r of runs) {
    const key = `${r.x0}|${r.marker}`;
    const span = spans.get(key);
    if (!span) spans.set(key, { ...r });
    else [span.y0, span.y1] = [Math.min(span.y0, r.y0), Math.max(span.y1, r.y1)];
  }
  return [...spans.values()];
}

function adjacentRuns(cells: readonly Run[]): Run[] {
  const sorted = [...cells].sort(
    (a, b) => a.x0 - b.x0 || a.marker.localeCompare(b.marker) || a.y0 - b.y0,
  );
  const runs: Run[] = [];
  for (const c of sorted) {
    const last = runs[runs.length - 1];
    if (last && last.x0 === c.x0 && last.marker === c.marker && last.y1 === c.y0) last.y1 = c.y1;
    else runs.push({ ...c });
  }
  return runs;
}

/**
 * Layers drawing each run as a black outline with a shape marker at its centre; the legend
 * lists only the markers present. `colours` also fills the markers (one legend for both).
 */
export function markerLayers(
  runs: readonly Run[],
  title: string,
  shapes: Record<string, string>,
  colours?: Record<string, string>,
) {
  if (runs.length === 0) return [];
  const present = Object.keys(shapes).filter((m) => runs.some((r) => r.marker === m));
  const scale = (range: Record<string, string>) => ({
    domain: present,
    range: present.map((m) => range[m]),
  });
  return [
    {
      data: { values: runs },
      mark: { type: "rect" as const, fill: null, stroke: "#000", strokeWidth: 1.5 },
      encoding: {
        x: { field: "x0", type: "quantitative" as const },
        x2: { field: "x1" },
        y: { field: "y0", type: "quantitative" as const },
        y2: { field: "y1" },
      },
    },
    {
      data: { values: runs },
      transform: [
        { calculate: "(datum.x0 + datum.x1) / 2", as: "xc" },
        { calculate: "(datum.y0 + datum.y1) / 2", as: "yc" },
      ],
      mark: {
        type: "point" as const,
        filled: true,
        opacity: 1,
        color: "#000",
        stroke: "#fff",
        strokeWidth: 1,
        size: 70,
      },
      encoding: {
        x: { field: "xc", type: "quantitative" as const },
        y: { field: "yc", type: "quantitative" as const },
        shape: { field: "marker", type: "nominal" as const, title, scale: scale(shapes) },
        ...(colours
          ? { color: { field: "marker", type: "nominal" as const, title, scale: scale(colours) } }
          : {}),
      },
    },
  ];
}

/** What the markers and the "Not applied" panel show, naming only what is there. */
export function markerSentence(
  counts: { leaked: number; duplicated: number; lost: number; dropped: number },
  unexpected: number,
): string {
  const marked = [
    counts.leaked > 0
      ? `${plural(counts.leaked, "occurrence")} leaked into a later epoch (outlined, triangle marker)`
      : "",
    counts.duplicated > 0
      ? `${plural(counts.duplicated, "occurrence")} ${wasWere(counts.duplicated)} applied more than once (outlined, diamond marker)`
      : "",
    unexpected > 0
      ? `${plural(unexpected, "cell")} ${unexpected === 1 ? "holds" : "hold"} a weight where none was due or one that is not a finite number (outlined, cross marker)`
      : "",
  ].filter(Boolean);
  const notApplied = [
    counts.lost > 0 ? `${plural(counts.lost, "lost occurrence")} (cross marker)` : "",
    counts.dropped > 0
      ? `${plural(counts.dropped, "occurrence")} dropped by drop_last on purpose (circle marker)`
      : "",
  ].filter(Boolean);
  const sentences = [
    marked.length > 0 ? `${marked.join("; ")}.` : "",
    notApplied.length > 0 ? `The "Not applied" panel shows ${notApplied.join(" and ")}.` : "",
  ].filter(Boolean);
  return sentences.length > 0
    ? sentences.join(" ")
    : "No occurrence leaked, was applied twice or was lost: there are no markers.";
}
