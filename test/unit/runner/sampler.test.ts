import { describe, expect, it } from 'vitest';
import { GREEDY, type SamplingOptions } from '../../../src/shared/engine';
import { Sampler } from '../../../src/main/runner/llm/sampler';
import { seededRandom } from '../../../src/main/runner/llm/random';
import { argmax, topIndices } from '../../../src/main/runner/llm/top-k';

const logits = () => Float32Array.of(1, 5, 3, 4, 2, 0);
const options = (overrides: Partial<SamplingOptions>): SamplingOptions => ({ ...GREEDY, ...overrides });
const draw = (sampling: SamplingOptions, times = 400, source = logits) => {
  const seen = new Set<number>();
  const sampler = new Sampler(sampling, []);
  for (let index = 0; index < times; index++) seen.add(sampler.pick(source()).token);
  return seen;
};

describe('top-k selection', () => {
  it('returns the k largest indices, largest first, over a wide vocabulary', () => {
    const values = new Float32Array(151_936).map((_, index) => (Math.sin(index * 12.9898) * 43758.5453) % 1);
    const sorted = [...values.keys()].sort((a, b) => (values[b] as number) - (values[a] as number));
    expect([...topIndices(values, 40)]).toEqual(sorted.slice(0, 40));
    expect(argmax(values)).toBe(sorted[0]);
  });
});

describe('Sampler', () => {
  it('is greedy at temperature 0', () => {
    expect(new Sampler(GREEDY, []).pick(logits()).token).toBe(1);
  });

  it('applies logit bias before choosing', () => {
    expect(new Sampler(options({ logitBias: { 5: 100 } }), []).pick(logits()).token).toBe(5);
  });

  it('keeps only the top k', () => {
    expect(draw(options({ temperature: 5, topK: 2, seed: 1 }))).toEqual(new Set([1, 3]));
  });

  it('keeps the smallest set reaching top_p of the whole distribution', () => {
    // softmax(1,5,3,4,2,0): p(1)≈0.64, p(3)≈0.24, p(2)≈0.09 → top_p 0.8 keeps tokens 1 and 3.
    expect(draw(options({ temperature: 1, topP: 0.8, seed: 2 }))).toEqual(new Set([1, 3]));
  });

  it('drops tokens below min_p times the best one', () => {
    // p(3)/p(1) = e^-1 ≈ 0.37, p(2)/p(1) = e^-2 ≈ 0.14 → min_p 0.2 keeps 1 and 3.
    expect(draw(options({ temperature: 1, minP: 0.2, seed: 3 }))).toEqual(new Set([1, 3]));
  });

  it('samples the whole vocabulary when nothing truncates it', () => {
    expect(draw(options({ temperature: 3, seed: 4 }), 2000).size).toBe(6);
  });

  it('draws from the full softmax of a wide vocabulary exactly as the two-pass definition does', () => {
    // The definition: the softmax weights summed, then summed again up to a uniform draw.
    const definition = (values: Float32Array, temperature: number, random: () => number) => {
      const inverse = 1 / temperature;
      let max = -Infinity;
      for (const value of values) if (value > max) max = value;
      let total = 0;
      for (const value of values) total += Math.exp((value - max) * inverse);
      let target = random() * total;
      for (let index = 0; index < values.length; index++) {
        target -= Math.exp(((values[index] as number) - max) * inverse);
        if (target <= 0) return index;
      }
      return values.length - 1;
    };
    const wide = new Float32Array(151_936).map((_, index) => Math.sin(index * 12.9898) * 6);
    for (const [seed, temperature] of [
      [1, 1],
      [2, 0.7],
      [3, 1.6],
    ] as const) {
      const sampler = new Sampler(options({ temperature, seed }), []);
      const random = seededRandom(seed);
      for (let draw = 0; draw < 12; draw++) {
        // Different logits each draw: nothing of one draw may leak into the next.
        const values = wide.map((value, index) => value + ((index * (draw + 1)) % 7) * 0.5);
        const expected = definition(values, temperature, random);
        expect(sampler.pick(values).token).toBe(expected);
      }
    }
  });

  it('reproduces the same tokens with the same seed', () => {
    const run = (seed: number) => {
      const sampler = new Sampler(options({ temperature: 1.5, topK: 4, seed }), []);
      return Array.from({ length: 30 }, () => sampler.pick(logits()).token);
    };
    expect(run(9)).toEqual(run(9));
    expect(run(9)).not.toEqual(run(10));
  });

  it('penalizes repetition, presence and frequency', () => {
    const repeating = new Sampler(options({ repetitionPenalty: 10 }), [1]);
    expect(repeating.pick(logits()).token).toBe(3);
    const present = new Sampler(options({ presencePenalty: 1.5 }), []);
    present.accept(1);
    expect(present.pick(logits()).token).toBe(3);
    const frequent = new Sampler(options({ frequencyPenalty: 0.6 }), []);
    frequent.accept(1);
    frequent.accept(1);
    expect(frequent.pick(logits()).token).toBe(3);
  });

  it('reports log-probabilities that sum to one over the vocabulary', () => {
    const { logprobs } = new Sampler(GREEDY, []).pick(logits(), 6);
    const total = (logprobs?.top ?? []).reduce((sum, entry) => sum + Math.exp(entry.logprob), 0);
    expect(total).toBeCloseTo(1, 5);
    expect(logprobs?.top[0]).toMatchObject({ id: 1 });
  });
});
