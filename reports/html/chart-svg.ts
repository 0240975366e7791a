import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** A chart's spec tried to load something (data, image, font): reports must be self-contained. */
export class ChartResourceError extends Error {
  override name = "ChartResourceError";
}

/**
 * A vega loader that refuses every load, so no chart can reach the network or the disk; what
 * was asked for is recorded, since vega only logs a failed load as a warning.
 */
function offlineLoader(refused: string[]): vega.Loader {
  const refuse = async (what: string): Promise<never> => {
    refused.push(what);
    throw new ChartResourceError(`chart: refused to load ${what}`);
  };
  return { load: refuse, sanitize: refuse, http: refuse, file: refuse };
}

/** Messages vega-lite or vega logged while compiling or rendering a chart. */
export interface ChartLog {
  warnings: string[];
  /** Errors vega logged instead of throwing. */
  errors?: string[];
}

function collectingLogger(log: ChartLog): vega.LoggerInterface {
  let level = vega.Warn;
  const logger: vega.LoggerInterface = {
    level(next?: number) {
      if (next === undefined) return level as never;
      level = next;
      return logger as never;
    },
    error: (...args: readonly unknown[]) => {
      log.errors = [...(log.errors ?? []), args.map(String).join(" ")];
      return logger;
    },
    warn: (...args: readonly unknown[]) => {
      log.warnings.push(args.map(String).join(" "));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  } as vega.LoggerInterface;
  return logger;
}

/**
 * Gives every id in an SVG (gradients, clip paths) and every reference to one a prefix, so that
 * several inline SVGs in one page do not resolve each other's `url(#...)`.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`);
}

/**
 * Compiles a vega-lite spec and renders it to a static SVG string in Node, with a loader that
 * refuses every external resource. `idPrefix` keeps the SVG's ids unique within a page.
 */
export async function renderChartSvg(
  spec: TopLevelSpec,
  idPrefix: string,
  log: ChartLog = { warnings: [] },
): Promise<string> {
  const logger = collectingLogger(log);
  const refused: string[] = [];
  const compiled = compile(spec, { logger: logger as never }).spec;
  const view = new vega.View(vega.parse(compiled), {
    renderer: "none",
    loader: offlineLoader(refused),
    logger,
    logLevel: vega.Warn,
  });
  try {
    const svg = await view.toSVG();
    if (refused.length > 0)
      throw new ChartResourceError(
        `chart: expected inline data only, saw a request to load ${JSON.stringify(refused[0])}`,
      );
    const first = log.errors?.[0];
    if (first !== undefined) throw new Error(`chart: ${first}`);
    return prefixSvgIds(svg, idPrefix);
  } finally {
    view.finalize();
  }
}
