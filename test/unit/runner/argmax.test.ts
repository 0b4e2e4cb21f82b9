import { describe, expect, it } from 'vitest';
import { argmax } from '../../../src/main/runner/llm/top-k';

/** The definition: the first index whose value is larger than every earlier one's. */
function reference(values: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  values.forEach((value, index) => {
    if (value > bestValue) {
      bestValue = value;
      best = index;
    }
  });
  return best;
}

/** A deterministic pseudo-random stream in [0, 1), so a failure reproduces. */
function stream(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('argmax', () => {
  it('gives the lowest index of equal maxima, whichever lane and the tail hold them', () => {
    expect(argmax(Float32Array.of(1, 5, 5, 0, 5))).toBe(1);
    expect(argmax(Float32Array.of(0, 0, 0, 7, 7, 0, 0, 0))).toBe(3);
    expect(argmax(Float32Array.of(0, 0, 7, 0, 0, 7, 0, 0))).toBe(2);
    expect(argmax(Float32Array.of(0, 0, 0, 0, 0, 0, 0, 0, 3, 3))).toBe(8);
    expect(argmax(Float32Array.of(2, 2, 2, 2, 2))).toBe(0);
    expect(argmax(Float32Array.of(-0, 0, 0, -0))).toBe(0);
  });

  it('never chooses NaN, and gives 0 when nothing beats -Infinity', () => {
    expect(argmax(Float32Array.of(NaN, 1, NaN, 2, NaN))).toBe(3);
    expect(argmax(Float32Array.of(NaN, NaN, NaN, NaN, NaN, NaN))).toBe(0);
    expect(argmax(Float32Array.of(-Infinity, -Infinity, -Infinity, -Infinity, -Infinity))).toBe(0);
    expect(argmax(Float32Array.of(NaN, -Infinity, NaN, -1e30))).toBe(3);
    expect(argmax(new Float32Array(0))).toBe(0);
  });

  it('picks the largest value anywhere in a wide row, tail included', () => {
    for (const at of [0, 1, 2, 3, 4, 75_967, 151_932, 151_933, 151_934, 151_935]) {
      const values = new Float32Array(151_936).fill(-3);
      values[at] = 9;
      expect(argmax(values)).toBe(at);
    }
  });

  it('agrees with the definition on rows of every length mod 4, heavy with ties and NaN', () => {
    const random = stream(7);
    const pool = [0, 1, 2, 2, 3, -1, NaN, -Infinity, Infinity];
    for (let trial = 0; trial < 4000; trial++) {
      const length = Math.floor(random() * 41);
      const values = Float32Array.from({ length }, () => pool[Math.floor(random() * pool.length)] as number);
      expect(argmax(values), `[${Array.from(values).join(', ')}]`).toBe(reference(values));
    }
  });

  it('reads a row that is a view into a larger batch of logits', () => {
    const batch = Float32Array.of(9, 9, 9, 1, 4, 2, 4, 0, 9);
    expect(argmax(batch.subarray(3, 8))).toBe(1);
  });
});
