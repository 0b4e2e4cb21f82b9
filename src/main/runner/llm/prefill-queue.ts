// Prompts waiting to be read, fed a chunk at a time between decode steps. Prompts that arrive
// together are read together, one padded run for all of them, so the eighth of eight concurrent
// requests waits for one run where it would have waited for seven.
import { RunnerError } from '../runner-error';
import type { RowLogits } from './head-screen';
import type { KvCache } from './kv-cache';

/** One prompt's next chunk in a batched read: its cache and the tokens fed after it. */
export interface PrefillRow {
  readonly cache: KvCache;
  readonly tokens: readonly number[];
}

/** What the queue needs of the model. */
export interface PrefillGraph {
  /**
   * Feeds `tokens` after `cache` alone, advancing it; the logits after the last token, from the
   * screened head where `screened`.
   */
  solo(cache: KvCache, tokens: readonly number[], screened: boolean): Promise<RowLogits>;
  /** Feeds each row's tokens after its cache in one padded run, advancing each; null: cannot. */
  readonly rows: ((rows: readonly PrefillRow[], screened: boolean) => Promise<RowLogits[]>) | null;
  /**
   * Whether `rows` takes rows whose caches hold tokens already (a prompt's later chunks, a reused
   * prefix); where not, only prompts starting from an empty cache are read together.
   */
  readonly pastRows: boolean;
  /** Tokens per chunk for `count` prompts read together, while `busy` (sequences are decoding) or not. */
  chunk(count: number, busy: boolean): number;
  /** Whether sequences are decoding (chunks are then small, so their steps keep flowing). */
  busy(): boolean;
}

/**
 * Where a batch takes fresh prompts only (`pastRows` false), a prompt whose cache holds at most
 * this many tokens (a short reused prefix) reads them again, with the batch, rather than alone.
 */
const REREAD_TOKENS = 64;

interface Job {
  readonly cache: KvCache;
  tokens: readonly number[];
  at: number;
  readonly signal: AbortSignal | undefined;
  readonly screened: boolean;
  readonly resolve: (logits: RowLogits) => void;
  readonly reject: (error: Error) => void;
}

/** The prompts being read on one model. Invariant: one run at a time, each job in at most one. */
export class PrefillQueue {
  #waiting: Job[] = [];
  #scheduled = false;
  /** Runs that read more than one prompt (for tests and the benchmark). */
  batchedRuns = 0;

  constructor(private readonly graph: PrefillGraph) {}

  /**
   * Feeds `tokens` (at least one) after `cache`; resolves to the logits after the last, from the
   * screened head where `screened` (and every prompt read with it may take it too).
   */
  read(
    cache: KvCache,
    tokens: readonly number[],
    screened: boolean,
    signal?: AbortSignal,
  ): Promise<RowLogits> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ cache, tokens, at: 0, signal, screened, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A macrotask: prompts that arrive together are read together, and decode steps run between.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#tick();
    });
  }

  async #tick(): Promise<void> {
    const jobs = this.#waiting.filter((job) => {
      if (!job.signal?.aborted) return true;
      job.reject(new RunnerError('cancelled', 'The request was cancelled.'));
      return false;
    });
    this.#waiting = [];
    if (jobs.length === 0) return;
    const batchable = await this.#batchable(jobs);
    const together = batchable.length > 1;
    const running = together ? batchable : jobs.slice(0, 1);
    const size = this.graph.chunk(running.length, this.graph.busy());
    // Those not run now wait for the next turn, ahead of newcomers.
    this.#waiting = jobs.filter((job) => !running.includes(job));
    const chunks = running.map((job) => job.tokens.slice(job.at, job.at + size));
    // A chunk that does not end its prompt has its logits dropped: the screened head serves it.
    const screened = running.every(
      (job, index) => job.screened || job.at + (chunks[index]?.length ?? 0) < job.tokens.length,
    );
    try {
      const logits =
        together && this.graph.rows !== null
          ? await this.graph.rows(
              running.map((job, index) => ({ cache: job.cache, tokens: chunks[index] ?? [] })),
              screened,
            )
          : [await this.graph.solo((running[0] as Job).cache, chunks[0] ?? [], screened)];
      if (together) this.batchedRuns++;
      running.forEach((job, index) => {
        job.at += chunks[index]?.length ?? 0;
        if (job.at >= job.tokens.length) job.resolve(logits[index] as RowLogits);
        else this.#waiting.unshift(job);
      });
    } catch (error) {
      const failure = error instanceof Error ? error : new RunnerError('internal', String(error));
      for (const job of running) job.reject(failure);
    }
    if (this.#waiting.length > 0) this.#schedule();
  }

  /**
   * The jobs that can be read together now: all of them where the graph takes rows with a past;
   * else those starting from an empty cache, with those whose cache holds a short prefix brought
   * back to empty (their prefix goes back into their tokens) when that makes a batch; none where
   * the oldest cannot join.
   */
  async #batchable(jobs: readonly Job[]): Promise<Job[]> {
    if (this.graph.rows === null || jobs.length < 2) return [];
    if (this.graph.pastRows) return [...jobs];
    const held = (job: Job) => job.cache.tokens.length;
    const fresh = jobs.filter((job) => held(job) === 0);
    const short = jobs.filter((job) => held(job) > 0 && held(job) <= REREAD_TOKENS);
    // The oldest prompt is never passed over for a batch it cannot join: it runs alone first.
    const head = jobs[0] as Job;
    if (fresh.length + short.length < 2 || held(head) > REREAD_TOKENS) return [];
    for (const job of short) {
      job.tokens = [...job.cache.tokens, ...job.tokens.slice(job.at)];
      job.at = 0;
      await job.cache.truncate(0);
    }
    return [...fresh, ...short];
  }
}
