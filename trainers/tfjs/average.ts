import type { ProbeModel } from "./probe-model.js";
import { ParameterProjector } from "./projection.js";

/**
 * An exponential moving average of the probe's parameters (phi and the body), in float32, as
 * torch's `AveragedModel` with `get_ema_multi_avg_fn(decay)` keeps it: each {@link update} takes
 * a ← a + (1 − decay)(θ − a). It starts from the parameters it is built with (θ_0). An update costs
 * every parameter (epochs x N + the body).
 */
export class ParameterAverage {
  private readonly fingerprint: Float32Array;
  private readonly body: Float32Array | null;
  private readonly projector: ParameterProjector;
  private count = 0;

  constructor(
    private readonly model: ProbeModel,
    readonly decay: number,
  ) {
    this.fingerprint = Float32Array.from(model.fingerprintValues());
    this.body = model.body === null ? null : Float32Array.from(model.body.dataSync());
    this.projector = new ParameterProjector(this.fingerprint.length, this.body?.length ?? 0);
  }

  /** `ema.update_parameters(model)`: one step of the average toward the parameters as they are. */
  update(): void {
    const weight = Math.fround(1 - this.decay);
    const lerp = (average: Float32Array, theta: ArrayLike<number>) => {
      for (let k = 0; k < average.length; k++) {
        const a = average[k] as number;
        average[k] = a + Math.fround(weight * Math.fround((theta[k] as number) - a));
      }
    };
    lerp(this.fingerprint, this.model.fingerprintValues());
    if (this.body !== null && this.model.body !== null) lerp(this.body, this.model.body.dataSync());
    this.count += 1;
  }

  /** How many updates the average took. */
  get updates(): number {
    return this.count;
  }

  /** The average's values: phi's, then the body's (null without a body). */
  values(): { fingerprint: Float32Array; body: Float32Array | null } {
    return { fingerprint: this.fingerprint, body: this.body };
  }

  /** The projections of the average (the trace's `average.value`). */
  projectAverage(): number[] {
    return this.projector.project(this.fingerprint, this.body);
  }

  /** The projections of the model's parameters as they are now (`average.before` and `after`). */
  projectParameters(): number[] {
    const body = this.model.body === null ? null : this.model.body.dataSync();
    return this.projector.project(this.model.fingerprintValues(), body);
  }
}
