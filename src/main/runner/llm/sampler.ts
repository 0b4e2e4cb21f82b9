import type { SamplingOptions } from '../../../shared/engine';
import { RunnerError } from '../runner-error';
import type { RowScreen } from './head-screen';
import { randomSeed, seededRandom } from './random';
import { argmax, topIndices } from './top-k';
import { keptTokens, truncatesInKeys, TruncationScratch } from './truncation';

/** The first width of the heap that truncated sampling widens until it covers top-p. */
const WIDTH = 64;
/**
 * The draws' buffers (weights, buckets, sort keys): one for the runner, whose samplers run one at a
 * time on its thread, instead of a vocabulary's worth per request.
 */
const SCRATCH = new TruncationScratch();

/** The log-probability of the chosen token and of the best alternatives, by token id. */
export interface LogprobsById {
  readonly logprob: number;
  readonly top: readonly { readonly id: number; readonly logprob: number }[];
}

/**
 * Whether `options` choose each token as the argmax of the (biased, penalized) logits, as
 * {@link Sampler.pick} does: then a screened head's logits serve (llm/head-screen.ts).
 */
export function isGreedy(options: SamplingOptions): boolean {
  return options.temperature <= 0 || options.topK === 1;
}

/**
 * Chooses each next token from the logits, in plain JS on the logits buffer: logit bias,
 * repetition/presence/frequency penalties (tracked incrementally), then greedy, or temperature
 * with top-k, top-p and min-p. The same seed and inputs give the same tokens.
 */
export class Sampler {
  readonly #random: () => number;
  /** How often each token was generated (presence and frequency penalties). */
  readonly #generated = new Map<number, number>();
  /** The last `repeatLastN` tokens of the whole sequence and their counts (repetition penalty). */
  readonly #window: number[] = [];
  readonly #inWindow = new Map<number, number>();

  constructor(
    private readonly options: SamplingOptions,
    promptTokens: readonly number[],
  ) {
    this.#random = seededRandom(options.seed ?? randomSeed());
    for (const token of promptTokens.slice(-options.repeatLastN)) this.#remember(token);
  }

  /** Records a token that became part of the output. */
  accept(token: number): void {
    this.#generated.set(token, (this.#generated.get(token) ?? 0) + 1);
    this.#remember(token);
  }

  /**
   * Applies bias and penalties to `logits` in place and picks a token. When `logprobs` is given,
   * also reports the chosen token's log-probability under the penalized distribution and that many
   * best alternatives. `screen`: the logits are a screened head's (greedy options only, no
   * `logprobs`): the tokens that bias and penalties touch are made exact first, and the argmax is
   * the screen's, which is the exact head's.
   */
  pick(
    logits: Float32Array,
    logprobs?: number,
    screen: RowScreen | null = null,
  ): { token: number; logprobs?: LogprobsById } {
    if (screen !== null) {
      if (!isGreedy(this.options) || logprobs !== undefined)
        throw new RunnerError(
          'internal',
          'Screened logits serve greedy picks without log-probabilities only.',
        );
      const touched = this.#touched(logits.length);
      // A token the grammar forbade stays -Infinity.
      for (const token of touched) if (logits[token] !== -Infinity) logits[token] = screen.exact(token);
      this.#applyBiasAndPenalties(logits);
      return { token: screen.argmax(logits, touched) };
    }
    this.#applyBiasAndPenalties(logits);
    const { temperature, topK, topP, minP } = this.options;
    const token = isGreedy(this.options)
      ? argmax(logits)
      : this.#sample(logits, temperature, topK, topP, minP);
    return logprobs === undefined ? { token } : { token, logprobs: this.#logprobs(logits, token, logprobs) };
  }

  /** The tokens whose logits bias and penalties change, below `vocab`. */
  #touched(vocab: number): Set<number> {
    const { logitBias, repetitionPenalty, presencePenalty, frequencyPenalty } = this.options;
    const touched = new Set<number>();
    const add = (token: number) => {
      if (Number.isInteger(token) && token >= 0 && token < vocab) touched.add(token);
    };
    if (logitBias) for (const id of Object.keys(logitBias)) add(Number(id));
    if (repetitionPenalty !== 1) for (const token of this.#inWindow.keys()) add(token);
    if (presencePenalty !== 0 || frequencyPenalty !== 0)
      for (const token of this.#generated.keys()) add(token);
    return touched;
  }

  #remember(token: number): void {
    if (this.options.repeatLastN <= 0) return;
    this.#window.push(token);
    this.#inWindow.set(token, (this.#inWindow.get(token) ?? 0) + 1);
    if (this.#window.length > this.options.repeatLastN) {
      const old = this.#window.shift() as number;
      const count = (this.#inWindow.get(old) ?? 1) - 1;
      if (count === 0) this.#inWindow.delete(old);
      else this.#inWindow.set(old, count);
    }
  }

  #applyBiasAndPenalties(logits: Float32Array): void {
    const { logitBias, repetitionPenalty, presencePenalty, frequencyPenalty } = this.options;
    if (logitBias) {
      for (const [id, bias] of Object.entries(logitBias)) {
        const index = Number(id);
        if (index >= 0 && index < logits.length) logits[index] = (logits[index] as number) + bias;
      }
    }
    if (repetitionPenalty !== 1) {
      for (const token of this.#inWindow.keys()) {
        const value = logits[token];
        if (value === undefined) continue;
        logits[token] = value > 0 ? value / repetitionPenalty : value * repetitionPenalty;
      }
    }
    if (presencePenalty !== 0 || frequencyPenalty !== 0) {
      for (const [token, count] of this.#generated) {
        const value = logits[token];
        if (value !== undefined) logits[token] = value - presencePenalty - frequencyPenalty * count;
      }
    }
  }

  #sample(logits: Float32Array, temperature: number, topK: number, topP: number, minP: number): number {
    const vocab = logits.length;
    let max = -Infinity;
    for (let index = 0; index < vocab; index++)
      if ((logits[index] as number) > max) max = logits[index] as number;
    const inverse = 1 / temperature;

    // No truncation: sample the full softmax in two passes, no sorting at all. The weights of the
    // first pass are kept for the second (the same values: the second pass computed them again).
    if ((topK <= 0 || topK >= vocab) && topP >= 1 && minP <= 0) {
      const weights = SCRATCH.weightsFor(vocab);
      let total = 0;
      for (let index = 0; index < vocab; index++) {
        const weight = Math.exp(((logits[index] as number) - max) * inverse);
        weights[index] = weight;
        total += weight;
      }
      let target = this.#random() * total;
      for (let index = 0; index < vocab; index++) {
        target -= weights[index] as number;
        if (target <= 0) return index;
      }
      return vocab - 1;
    }

    const limit = topK > 0 ? Math.min(topK, vocab) : vocab;
    const floor = minP > 0 ? minP : 0; // relative to the best token, whose weight is exp(0) = 1
    // A top-k of at most WIDTH needs one heap pass below; a wider cut, the bucketed truncation (a heap
    // widened until it covers top-p costs 3–60 ms a token on a broad 151,936-token row).
    if (limit > WIDTH && truncatesInKeys(vocab)) {
      // top-p measures the mass of the whole distribution (its softmax denominator), as below.
      const kept = keptTokens(logits, max, inverse, limit, topP, floor, SCRATCH);
      let target = this.#random() * kept.mass;
      for (let at = 0; at < kept.ids.length; at++) {
        target -= kept.weights[at] as number;
        if (target <= 0) return kept.ids[at] as number;
      }
      return kept.ids.at(-1) ?? argmax(logits);
    }

    // The softmax denominator over the whole vocabulary, so top-p measures the true mass.
    let total = 0;
    for (let index = 0; index < vocab; index++)
      total += Math.exp(((logits[index] as number) - max) * inverse);
    let width = Math.min(limit, WIDTH);
    for (;;) {
      const candidates = topIndices(logits, width);
      const kept: { id: number; weight: number }[] = [];
      let mass = 0;
      for (const id of candidates) {
        const weight = Math.exp(((logits[id] as number) - max) * inverse);
        if (floor > 0 && weight < floor) break;
        kept.push({ id, weight });
        mass += weight;
        if (mass / total >= topP) break;
      }
      const covered =
        mass / total >= topP || (floor > 0 && kept.length < candidates.length) || width >= limit;
      if (covered) {
        let target = this.#random() * mass;
        for (const { id, weight } of kept) {
          target -= weight;
          if (target <= 0) return id;
        }
        return kept.at(-1)?.id ?? (candidates[0] as number);
      }
      width = Math.min(limit, width * 4);
    }
  }

  #logprobs(logits: Float32Array, chosen: number, topCount: number): LogprobsById {
    // NOTE: loops bounded by a local, not `logits.length` (read per element, it slows V8's loop).
    const vocab = logits.length;
    let max = -Infinity;
    for (let index = 0; index < vocab; index++)
      if ((logits[index] as number) > max) max = logits[index] as number;
    let total = 0;
    for (let index = 0; index < vocab; index++) total += Math.exp((logits[index] as number) - max);
    const logTotal = Math.log(total) + max;
    const top =
      topCount > 0
        ? [...topIndices(logits, topCount)].map((id) => ({ id, logprob: (logits[id] as number) - logTotal }))
        : [];
    return { logprob: (logits[chosen] as number) - logTotal, top };
  }
}
