import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/** How many directions the trace's `average` projects the parameters onto. */
export const PROJECTION_DIRECTIONS = 2;
/** The seed of the directions: fixed, so every run of a scenario projects alike. */
const DIRECTION_SEED = 0x5eed;

/**
 * Projections of every probe parameter onto {@link PROJECTION_DIRECTIONS} fixed pseudo-random
 * directions with entries in [-1, 1]: phi flattened by occurrence (epoch x N + sample), then the
 * body. Each projection is a float64 dot product, as the trace's `average` holds them.
 */
export class ParameterProjector {
  private readonly directions: Float64Array[] = [];

  constructor(
    readonly fingerprintSize: number,
    readonly bodySize: number,
  ) {
    const rng = xoroshiro128plus(DIRECTION_SEED);
    for (let d = 0; d < PROJECTION_DIRECTIONS; d++) {
      const direction = new Float64Array(fingerprintSize + bodySize);
      for (let k = 0; k < direction.length; k++) direction[k] = 2 * uniformFloat64(rng) - 1;
      this.directions.push(direction);
    }
  }

  /** The projections of phi's values and the body's (null without a body). */
  project(fingerprint: ArrayLike<number>, body: ArrayLike<number> | null): number[] {
    return this.directions.map((direction) => {
      let dot = 0;
      for (let k = 0; k < this.fingerprintSize; k++)
        dot += (direction[k] as number) * (fingerprint[k] as number);
      for (let j = 0; j < this.bodySize; j++)
        dot += (direction[this.fingerprintSize + j] as number) * ((body?.[j] ?? 0) as number);
      return dot;
    });
  }
}
