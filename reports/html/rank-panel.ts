import type { CheckJudgement } from "../../properties/outcome.js";
import { nth, plural } from "../words.js";

/** Where the panel's bins and axes come from: the heatmap it stands beside. */
export interface RankPanelLayout {
  sampleBin: number;
  epochBin: number;
  height: number;
  /** The heatmap's sample axis, shared so the rows line up. */
  ySpec: Record<string, unknown>;
}

/** Colours of ranks 0..7 (colour-blind-safe), and of a bin whose samples ran on several ranks. */
const RANK_COLOURS = [
  "#4477aa",
  "#ee6677",
  "#228833",
  "#ccbb44",
  "#66ccee",
  "#aa3377",
  "#bbbbbb",
  "#000000",
];
const MIXED = "several";

/**
 * A panel beside the weight heatmap for a data-parallel run: epochs across, samples down, each
 * cell coloured by the rank whose loader produced the sample in that epoch ("several" for a bin
 * of samples that ran on different ranks). Null for one rank.
 */
export function rankPanel(
  d: CheckJudgement,
  layout: RankPanelLayout,
): { panel: unknown; summary: string } | null {
  const { worldSize, datasetSize: N, epochs: E } = d.scenario;
  if (worldSize <= 1) return null;
  const cells = new Map<string, { e0: number; e1: number; y0: number; y1: number; rank: string }>();
  d.weights.rank.forEach((row, epoch) => {
    row.forEach((rank, sample) => {
      if (rank < 0) return;
      const column = Math.floor(epoch / layout.epochBin);
      const bin = Math.floor(sample / layout.sampleBin);
      const key = `${column}|${bin}`;
      const cell = cells.get(key);
      if (!cell)
        cells.set(key, {
          e0: nth(column * layout.epochBin) - 0.5,
          e1: Math.min((column + 1) * layout.epochBin, E) + 0.5,
          y0: bin * layout.sampleBin,
          y1: Math.min((bin + 1) * layout.sampleBin, N),
          rank: `rank ${rank}`,
        });
      else if (cell.rank !== `rank ${rank}`) cell.rank = MIXED;
    });
  });
  const ranks = Array.from({ length: worldSize }, (_, r) => `rank ${r}`);
  const domain = [...ranks, ...([...cells.values()].some((c) => c.rank === MIXED) ? [MIXED] : [])];
  const panel = {
    width: Math.min(200, Math.max(60, Math.ceil(E / layout.epochBin) * 24)),
    height: layout.height,
    title: { text: "Rank", anchor: "start" as const, fontSize: 13 },
    data: { values: [...cells.values()] },
    mark: { type: "rect" as const },
    encoding: {
      x: {
        field: "e0",
        type: "quantitative" as const,
        title: layout.epochBin === 1 ? "epoch" : `epoch (bins of ${layout.epochBin})`,
        scale: { domain: [0.5, E + 0.5], nice: false, zero: false },
        axis: { tickMinStep: 1, format: "d" },
      },
      x2: { field: "e1" },
      y: layout.ySpec,
      y2: { field: "y1" },
      color: {
        field: "rank",
        type: "nominal" as const,
        title: "ran on",
        scale: {
          domain,
          range: domain.map((name, k) =>
            name === MIXED ? "#777777" : (RANK_COLOURS[k] ?? "#777777"),
          ),
        },
      },
    },
  };
  const summary = `The "Rank" panel colours each sample by the rank of the ${plural(worldSize, "rank")} whose loader fed it in each epoch${domain.includes(MIXED) ? ` ("${MIXED}" marks a bin of samples that ran on different ranks)` : ""}.`;
  return { panel, summary };
}
