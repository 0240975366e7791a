/**
 * Float32 sums by index over 0 .. size - 1, touched sparsely: what a `Map<number, number>` of
 * `Math.fround` sums holds, in typed arrays. The first value added at an index is stored as it is
 * (rounded to float32), each later one is added in float32; clearing costs the indices touched,
 * not the size.
 */
export class SparseFloat32Sums {
  private readonly values: Float32Array;
  private readonly present: Uint8Array;
  private touched: number[] = [];

  constructor(readonly size: number) {
    this.values = new Float32Array(size);
    this.present = new Uint8Array(size);
  }

  /** Indices holding a sum. */
  get count(): number {
    return this.touched.length;
  }

  /** Adds `value` at `index` (a whole number below {@link size}, else RangeError). */
  add(index: number, value: number): void {
    if (this.present[index] === 1) {
      this.values[index] = (this.values[index] as number) + value;
      return;
    }
    if (!Number.isInteger(index) || index < 0 || index >= this.size)
      throw new RangeError(
        `fingerprint gradient: index ${index} outside phi (0 to ${this.size - 1})`,
      );
    this.present[index] = 1;
    this.values[index] = value;
    this.touched.push(index);
  }

  /** Calls `visit` with each index holding a sum and the sum, in the order indices were first added. */
  forEach(visit: (index: number, sum: number) => void): void {
    for (const index of this.touched) visit(index, this.values[index] as number);
  }

  /** Adds each sum here (passed through `map` first, if given) to `target` at the same index. */
  addTo(target: SparseFloat32Sums, map?: (sum: number) => number): void {
    for (const index of this.touched) {
      const sum = this.values[index] as number;
      target.add(index, map === undefined ? sum : map(sum));
    }
  }

  /** Replaces every sum s by `map(s)`, rounded to float32. */
  update(map: (sum: number) => number): void {
    for (const index of this.touched) this.values[index] = map(this.values[index] as number);
  }

  /** The indices holding a sum, ascending, and their sums. */
  sorted(): { indices: Int32Array; values: Float32Array } {
    const indices = Int32Array.from(this.touched);
    let ascending = true;
    for (let k = 1; k < indices.length && ascending; k++)
      ascending = (indices[k - 1] as number) < (indices[k] as number);
    if (!ascending) indices.sort(); // a loader in index order touches them ascending already
    const values = new Float32Array(indices.length);
    for (let k = 0; k < indices.length; k++)
      values[k] = this.values[indices[k] as number] as number;
    return { indices, values };
  }

  /** Forgets every sum. */
  clear(): void {
    for (const index of this.touched) this.present[index] = 0;
    this.touched = [];
  }
}
