import type { ModelTask } from '../../../shared/engine';

/** One served inference: what it cost and how fast it was. */
export interface InferenceRecord {
  readonly time: string;
  readonly model: string;
  readonly task: ModelTask;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly completionTokens: number;
  /** Waiting for the model: its load and the queue before it. */
  readonly queueWaitMs: number;
  /** From the request to the first token, waiting included; null for non-generative tasks. */
  readonly timeToFirstTokenMs: number | null;
  /** Generated tokens per second of decoding; null for non-generative tasks. */
  readonly decodeTokensPerSecond: number | null;
  readonly totalMs: number;
  readonly outcome: 'stop' | 'length' | 'cancelled' | 'error' | 'ok';
}

/** Called with each new record. */
export type InferenceListener = (record: InferenceRecord) => void;

/** The newest inference records in memory, and a feed of new ones for metrics and the UI. */
export class InferenceLog {
  readonly #records: InferenceRecord[] = [];
  readonly #listeners = new Set<InferenceListener>();

  constructor(private readonly capacity = 1000) {}

  /** Adds a record and tells the listeners. */
  record(entry: InferenceRecord): void {
    this.#records.push(entry);
    if (this.#records.length > this.capacity) this.#records.shift();
    for (const listener of this.#listeners) listener(entry);
  }

  /** The newest `limit` records, newest first. */
  recent(limit: number): InferenceRecord[] {
    return this.#records.slice(-limit).reverse();
  }

  /** Subscribes to new records; returns the unsubscribe function. */
  subscribe(listener: InferenceListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
