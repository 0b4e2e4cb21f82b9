import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/main/runner/llm/random';
import { keptTokens, TruncationScratch } from '../../../src/main/runner/llm/truncation';

/** The definition: every drawable token sorted by logit (ties: lowest id), then the rules in turn. */
function reference(
  logits: Float32Array,
  max: number,
  inverse: number,
  limit: number,
  topP: number,
  floor: number,
) {
  const weight = (id: number) => Math.exp(((logits[id] as number) - max) * inverse);
  let total = 0;
  for (let id = 0; id < logits.length; id++) total += weight(id);
  const order = [...logits.keys()]
    .filter((id) => weight(id) > 0)
    .sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  const ids: number[] = [];
  const weights: number[] = [];
  let mass = 0;
  for (const id of order) {
    if (ids.length >= limit) break;
    if (floor > 0 && weight(id) < floor) break;
    ids.push(id);
    weights.push(weight(id));
    mass += weight(id);
    if (mass / total >= topP) break;
  }
  return { ids, weights, mass, total };
}

function row(random: () => number, vocab: number, spread: number, ties: boolean, masked: number) {
  const values = new Float32Array(vocab);
  for (let id = 0; id < vocab; id++) {
    // A heavy-tailed spread, as language models' logits have: a few tokens far above the rest.
    const gauss = Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
    values[id] = gauss * spread + (random() < 0.001 ? 8 * spread : 0);
    if (ties) values[id] = Math.round((values[id] as number) * 2) / 2;
  }
  for (let at = 0; at < masked; at++) values[Math.floor(random() * vocab)] = -Infinity;
  return values;
}

const maxOf = (values: Float32Array) => values.reduce((best, value) => Math.max(best, value), -Infinity);

describe('the tokens sampling keeps', () => {
  it('are the definition’s, in its order with its weights, over many rows and every rule', () => {
    const random = seededRandom(17);
    const scratch = new TruncationScratch();
    let checked = 0;
    for (const vocab of [7, 300, 5000]) {
      for (const spread of [0.3, 1, 3, 8]) {
        for (const ties of [false, true]) {
          const logits = row(random, vocab, spread, ties, vocab > 10 ? 20 : 1);
          const max = maxOf(logits);
          for (const temperature of [0.2, 0.8, 2]) {
            for (const [limit, topP, floor] of [
              [vocab, 1, 0],
              [vocab, 0.9, 0],
              [vocab, 0.5, 0],
              [40, 0.95, 0],
              [1, 1, 0],
              [vocab, 1, 0.05],
              [vocab, 0.95, 0.2],
              [3, 0.1, 0.5],
            ] as const) {
              const inverse = 1 / temperature;
              const ours = keptTokens(logits, max, inverse, limit, topP, floor, scratch);
              expect(ours).toEqual(reference(logits, max, inverse, limit, topP, floor));
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBe(3 * 4 * 2 * 3 * 8);
  });

  it('keeps the definition’s tokens on a full-size vocabulary, broad and peaked', () => {
    const random = seededRandom(5);
    const scratch = new TruncationScratch();
    for (const spread of [1, 4]) {
      const logits = row(random, 151_936, spread, false, 100);
      const max = maxOf(logits);
      for (const [limit, topP] of [
        [151_936, 0.9],
        [40, 0.95],
      ] as const)
        expect(keptTokens(logits, max, 1 / 0.8, limit, topP, 0, scratch)).toEqual(
          reference(logits, max, 1 / 0.8, limit, topP, 0),
        );
    }
  });

  it('never keeps a masked token, even when fewer tokens than top-k are left', () => {
    const logits = Float32Array.of(-Infinity, 2, -Infinity, 1, -Infinity);
    const kept = keptTokens(logits, 2, 1, 4, 1, 0, new TruncationScratch());
    expect(kept.ids).toEqual([1, 3]);
  });

  it('reads a row that is a view into a larger buffer (a batch row)', () => {
    const batch = new Float32Array(30);
    batch.set([0, 3, 1, 3, 2, 0, 0, 0, 0, 0], 10);
    const view = batch.subarray(10, 20);
    const kept = keptTokens(view, 3, 1, 3, 1, 0, new TruncationScratch());
    expect(kept.ids).toEqual([1, 3, 4]);
  });
});
