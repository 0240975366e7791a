import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** One check of one trainer on N samples, as `accumaudit check` runs it in a process of its own. */
export interface ScalingPoint {
  trainer: string;
  datasetSize: number;
  /** Wall time of the whole command (start, worker start for python: trainers, run, check). */
  seconds: number;
  /** Peak resident memory of the largest process of the run (GNU time's %M), when measured. */
  peakKb: number | null;
  /** The command's exit code: 0 pass, 1 a property fails, else it could not run. */
  exitCode: number | null;
}

/** What {@link measureScaling} runs. */
export interface ScalingOptions {
  trainers: readonly string[];
  sizes: readonly number[];
  batchSize: number;
  accumulation: number;
  /** A trainer's larger sizes are skipped once one of its checks took longer than this. */
  skipAfterSeconds: number;
}

/** The built CLI the bench starts in processes of their own. */
export const CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));
const GNU_TIME = "/usr/bin/time";

function measureOne(trainer: string, datasetSize: number, options: ScalingOptions): ScalingPoint {
  const args = [
    CLI,
    "check",
    "--trainer",
    trainer,
    "--dataset-size",
    String(datasetSize),
    "--batch-size",
    String(options.batchSize),
    "--accumulation",
    String(options.accumulation),
    "--json",
  ];
  const folder = mkdtempSync(join(tmpdir(), "accumaudit-scaling-"));
  const timeFile = join(folder, "time.txt");
  const timed = existsSync(GNU_TIME);
  const started = performance.now();
  const run = timed
    ? spawnSync(GNU_TIME, ["-f", "%M", "-o", timeFile, process.execPath, ...args], {
        stdio: "ignore",
      })
    : spawnSync(process.execPath, args, { stdio: "ignore" });
  const seconds = (performance.now() - started) / 1000;
  let peakKb: number | null = null;
  if (timed && existsSync(timeFile)) {
    const last = readFileSync(timeFile, "utf8").trim().split("\n").at(-1) ?? "";
    peakKb = /^\d+$/.test(last) ? Number(last) : null;
  }
  rmSync(folder, { recursive: true, force: true });
  return { trainer, datasetSize, seconds, peakKb, exitCode: run.status };
}

/**
 * Times one check per trainer per size, smallest first, each in a fresh process; a trainer's
 * remaining sizes are skipped after a check slower than `skipAfterSeconds`.
 */
export function measureScaling(
  options: ScalingOptions,
  onPoint: (point: ScalingPoint | { trainer: string; datasetSize: number; skipped: true }) => void,
): ScalingPoint[] {
  const points: ScalingPoint[] = [];
  for (const trainer of options.trainers) {
    let tooSlow = false;
    for (const datasetSize of options.sizes) {
      if (tooSlow) {
        onPoint({ trainer, datasetSize, skipped: true });
        continue;
      }
      const point = measureOne(trainer, datasetSize, options);
      points.push(point);
      onPoint(point);
      tooSlow = point.seconds > options.skipAfterSeconds;
    }
  }
  return points;
}

/**
 * The least-squares slope of log(seconds) against log(N) over the points with N in [from, to]:
 * 1 is linear growth, 2 quadratic. Null with fewer than two such points.
 */
export function growthExponent(
  points: readonly ScalingPoint[],
  from: number,
  to: number,
): number | null {
  const used = points.filter((p) => p.datasetSize >= from && p.datasetSize <= to && p.seconds > 0);
  if (used.length < 2) return null;
  const xs = used.map((p) => Math.log(p.datasetSize));
  const ys = used.map((p) => Math.log(p.seconds));
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  xs.forEach((x, k) => {
    num += (x - mx) * ((ys[k] as number) - my);
    den += (x - mx) ** 2;
  });
  return den === 0 ? null : num / den;
}
