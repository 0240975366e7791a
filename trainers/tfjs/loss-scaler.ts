/**
 * Dynamic loss scaling as PyTorch's `torch.cuda.amp.GradScaler` does it with its defaults:
 * start at 2^16, halve on a step whose unscaled gradient holds inf/nan (that step is skipped),
 * double after 2000 consecutive clean steps.
 */
export class LossScaler {
  /** The factor the loss is multiplied by before backward. */
  scale: number;
  private cleanSteps = 0;

  constructor(
    initialScale = 2 ** 16,
    private readonly growthFactor = 2,
    private readonly backoffFactor = 0.5,
    private readonly growthInterval = 2000,
  ) {
    this.scale = initialScale;
  }

  /** Updates the scale after a step; `overflowed` says whether that step was skipped. */
  update(overflowed: boolean): void {
    if (overflowed) {
      this.scale *= this.backoffFactor;
      this.cleanSteps = 0;
      return;
    }
    this.cleanSteps += 1;
    if (this.cleanSteps === this.growthInterval) {
      this.scale *= this.growthFactor;
      this.cleanSteps = 0;
    }
  }
}
