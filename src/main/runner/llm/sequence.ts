// One generation's hold on a language model: its prompt read (from the best cached prefix on),
// then its decode steps taken with the other sequences of the model's batch.
import { RunnerError } from '../runner-error';
import type { DecodeBatch, Member } from './decode-batch';
import type { RowLogits } from './head-screen';
import type { KvCache } from './kv-cache';
import type { PrefillQueue } from './prefill-queue';
import type { PrefixStore } from './prefix-store';

/**
 * A sequence: {@link prefill} once, then {@link step} per token, then {@link close} exactly once,
 * which leaves the batch and keeps the keys and values for the next request that shares them.
 */
export class Sequence {
  #cache: KvCache | null = null;
  #member: Member | null = null;
  #closed = false;

  constructor(
    private readonly batch: DecodeBatch,
    private readonly store: PrefixStore,
    private readonly prompts: PrefillQueue,
    private readonly onClose: () => void,
    /** Whether its steps may take the screened head (greedy picks only; see head-screen.ts). */
    private readonly screened: boolean,
  ) {}

  /**
   * Reads `tokens` from the longest prefix the store holds and returns the logits that follow
   * them; `reused` counts the tokens not fed again. It is read in chunks, with the other prompts
   * that wait at the same time, and running sequences step between chunks.
   */
  async prefill(
    tokens: readonly number[],
    signal?: AbortSignal,
  ): Promise<{ logits: RowLogits; reused: number }> {
    if (this.#cache !== null || this.#member !== null)
      throw new RunnerError('internal', 'A sequence reads its prompt once.');
    const { cache, reused } = await this.store.start(tokens);
    this.#cache = cache;
    await cache.truncate(reused);
    if (signal?.aborted) throw new RunnerError('cancelled', 'The request was cancelled.');
    const logits = await this.prompts.read(cache, tokens.slice(reused), this.screened, signal);
    return { logits, reused };
  }

  /** Feeds one token with the batch's next step and returns the logits that follow it. */
  step(token: number): Promise<RowLogits> {
    if (this.#member === null) {
      if (this.#cache === null) throw new RunnerError('internal', 'A sequence steps after its prompt.');
      this.#member = this.batch.join(this.#cache, this.screened);
      this.#cache = null;
    }
    return this.batch.step(this.#member, token);
  }

  /** Leaves the batch and hands the keys and values to the prefix store. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const cache = this.#member !== null ? this.batch.leave(this.#member) : this.#cache;
    this.#member = null;
    this.#cache = null;
    if (cache !== null) this.store.put(cache);
    this.onClose();
  }
}
