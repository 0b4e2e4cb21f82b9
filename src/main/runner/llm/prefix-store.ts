// The keys and values of finished sequences, kept so that a request continuing one of them (the
// next chat turn, another question under the same system prompt) pays only for its new tokens.
import { commonPrefix, KvCache, type KvLayout } from './kv-cache';

/** What the store keeps at most, in bytes of keys and values; the most recent entry always stays. */
export const PREFIX_STORE_BYTES = 512 * 1024 * 1024;

/** A cache to start a sequence from, and how many of its tokens are already in it. */
export interface Start {
  readonly cache: KvCache;
  readonly reused: number;
}

/**
 * Finished sequences' caches, least recently used first out once they pass {@link PREFIX_STORE_BYTES}.
 * Invariant: an entry is owned by the store alone; a sequence gets the entry itself (when it
 * continues all of it) or a copy of the prefix it shares, never a cache another sequence holds.
 */
export class PrefixStore {
  /** Least recently used first. */
  readonly #entries: KvCache[] = [];

  constructor(
    private readonly layout: KvLayout,
    private readonly limitBytes = PREFIX_STORE_BYTES,
  ) {}

  /** How many caches are kept. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * The best start for `tokens`: the entry with the longest common prefix, taken out when the
   * sequence continues all of it, else a copy of the shared prefix; an empty cache when none
   * shares a token. At least the last token is always left to feed (its logits are needed).
   */
  async start(tokens: readonly number[]): Promise<Start> {
    let best: KvCache | null = null;
    let bestLength = 0;
    for (const entry of this.#entries) {
      const length = commonPrefix(entry.tokens, tokens);
      if (length > bestLength) {
        best = entry;
        bestLength = length;
      }
    }
    const reused = Math.min(bestLength, tokens.length - 1);
    if (best === null || reused === 0) return { cache: new KvCache(this.layout), reused: 0 };
    if (reused === best.tokens.length) {
      this.#entries.splice(this.#entries.indexOf(best), 1);
      return { cache: best, reused };
    }
    // Touched: it served a prefix, so it is worth keeping.
    this.#entries.splice(this.#entries.indexOf(best), 1);
    this.#entries.push(best);
    return { cache: await best.copyPrefix(reused), reused };
  }

  /** Keeps a finished sequence's cache, dropping the least recently used past the bound. */
  put(cache: KvCache): void {
    if (cache.tokens.length === 0) return;
    // An entry that is a prefix of the new one is worth nothing more.
    for (let index = this.#entries.length - 1; index >= 0; index--) {
      const entry = this.#entries[index] as KvCache;
      if (commonPrefix(entry.tokens, cache.tokens) === entry.tokens.length) {
        this.#entries.splice(index, 1);
        entry.clear();
      }
    }
    this.#entries.push(cache);
    let bytes = this.#entries.reduce((sum, entry) => sum + entry.bytes, 0);
    while (this.#entries.length > 1 && bytes > this.limitBytes) {
      const oldest = this.#entries.shift() as KvCache;
      bytes -= oldest.bytes;
      oldest.clear();
    }
  }

  /** Forgets every entry. */
  clear(): void {
    for (const entry of this.#entries.splice(0)) entry.clear();
  }
}
