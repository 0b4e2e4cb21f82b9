// The per-sequence token mask of grammar-constrained decoding: before each sampling step, every
// token the grammar cannot take next gets a logit of -Infinity.
import type { GrammarMatcher } from '@mlc-ai/web-xgrammar';
import type { GrammarSpec } from '../../../shared/grammar';
import { RunnerError } from '../runner-error';
import type { ModelGrammars } from './model-grammars';

/** Tokens of budget left at which a grammar starts steering toward its end. */
export const CLOSING_BUDGET = 48;

/**
 * One sequence's place in its grammar. Each step: {@link apply} masks the logits over the whole
 * vocabulary (end-of-sequence only where the grammar may end), the sampler picks, {@link accept}
 * advances the grammar. {@link done} is true once the grammar took its stop token.
 */
export class GrammarMask {
  /** How many tokens the last {@link apply} left allowed (for tests and the benchmark). */
  allowed = 0;

  private constructor(
    private readonly matcher: GrammarMatcher,
    private readonly vocabSize: number,
    private readonly closers: Uint8Array,
  ) {}

  /** A mask at the start of `spec`'s grammar for the model `grammars` serves. */
  static async create(grammars: ModelGrammars, spec: GrammarSpec): Promise<GrammarMask> {
    const compiled = await grammars.compile(spec);
    const matcher = await grammars.xgrammar.GrammarMatcher.createGrammarMatcher(compiled);
    return new GrammarMask(matcher, grammars.vocabSize, grammars.closers);
  }

  /**
   * Sets the logit of every token the grammar forbids next to -Infinity, in place. Token ids past
   * the grammar's vocabulary (a wider LM head) are forbidden too. With `remaining` tokens of budget
   * left, at most {@link CLOSING_BUDGET}, only the allowed tokens that best close what is open stay
   * (see `closingRanks`): the output then ends within its budget instead of being cut off as
   * invalid JSON (a model that never closes a string is otherwise cut off mid-value).
   */
  async apply(logits: Float32Array, remaining = Infinity): Promise<void> {
    // NOTE: the binding hands back a fresh Int32Array per call (it copies out of the WebAssembly
    // heap); applying it is one pass over 32-bit words: an all-allowed word is skipped whole, an
    // all-forbidden one written without testing bits.
    const bitmask = await this.matcher.getNextTokenBitmask();
    const width = Math.min(logits.length, this.vocabSize);
    const words = width >>> 5;
    let allowed = 0;
    for (let word = 0; word < words; word++) {
      const bits = bitmask[word] as number;
      if (bits === -1) {
        allowed += 32;
        continue;
      }
      const base = word << 5;
      if (bits === 0) {
        for (let offset = 0; offset < 32; offset++) logits[base + offset] = -Infinity;
        continue;
      }
      for (let offset = 0, rest = bits; offset < 32; offset++, rest >>>= 1) {
        if (rest & 1) allowed++;
        else logits[base + offset] = -Infinity;
      }
    }
    const tail = (bitmask[words] ?? 0) as number;
    for (let id = words << 5, offset = 0; id < width; id++, offset++) {
      if ((tail >>> offset) & 1) allowed++;
      else logits[id] = -Infinity;
    }
    if (logits.length > width) logits.fill(-Infinity, width);
    this.allowed = allowed;
    if (allowed === 0)
      throw new RunnerError(
        'internal',
        'The grammar allows no next token; the structured output cannot continue.',
      );
    if (remaining <= CLOSING_BUDGET) this.#keepClosers(logits, bitmask, width);
  }

  /** Keeps only the allowed tokens of the best closing rank there is (none: the mask stays). */
  #keepClosers(logits: Float32Array, bitmask: Int32Array, width: number): void {
    let best = 0;
    const words = Math.ceil(width / 32);
    for (let word = 0; word < words; word++) {
      if (bitmask[word] === 0) continue;
      const end = Math.min(width, (word + 1) << 5);
      for (let id = word << 5; id < end; id++) {
        const rank = this.closers[id] as number;
        if (rank > best && logits[id] !== -Infinity) best = rank;
      }
    }
    if (best === 0) return;
    let kept = 0;
    for (let word = 0; word < words; word++) {
      if (bitmask[word] === 0) continue;
      const end = Math.min(width, (word + 1) << 5);
      for (let id = word << 5; id < end; id++) {
        if (this.closers[id] !== best) logits[id] = -Infinity;
        else if (logits[id] !== -Infinity) kept++;
      }
    }
    this.allowed = kept;
  }

  /** Advances the grammar by the sampled token (one that {@link apply} allowed). */
  accept(token: number): void {
    if (!this.matcher.acceptToken(token))
      throw new RunnerError('internal', `The grammar rejected token ${token}, which its mask allowed.`);
  }

  /** True once the grammar has taken its end (a stop token): the output is complete. */
  get done(): boolean {
    return this.matcher.isTerminated();
  }

  /** Frees the matcher. */
  dispose(): void {
    this.matcher.dispose();
  }
}
