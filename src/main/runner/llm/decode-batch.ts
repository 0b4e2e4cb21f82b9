// Continuous batching: the sequences decoding on one model take each step together, in one run of
// the graph over a batch of rows. Their keys and values live in one set of batch tensors that the
// graph's presents replace step after step (no copy); they are copied only when the batch changes
// (a sequence joins or leaves).
import { RunnerError } from '../runner-error';
import { tensor, type OrtTensor } from '../onnx/session';
import type { RowLogits } from './head-screen';
import { KvCache, type KvLayout } from './kv-cache';

/**
 * Where a row's keys and values sit in the batch tensors, which are as wide as the longest row.
 * `left`: right-aligned, padding first (every row's new token goes in the same last column; for
 * graphs that mask padding with attention_mask and take each row's position_ids). `right`:
 * left-aligned, padding last (each row's new token goes right after its own tokens; for
 * GroupQueryAttention graphs, which read each row's length from the mask as `seqlens_k`).
 */
export type BatchLayout = 'left' | 'right';

/** One row of a batched step: the token fed and how many tokens the row already holds. */
export interface RowInput {
  readonly token: number;
  readonly length: number;
}

/** What a batch needs of the model: its cache layout and its two kinds of run. */
export interface BatchGraph {
  readonly kv: KvLayout;
  /**
   * Feeds `tokens` after `cache` (one sequence), advancing it; the logits after the last, from the
   * screened head where `screened`.
   */
  solo(cache: KvCache, tokens: readonly number[], screened: boolean): Promise<RowLogits>;
  /**
   * One step over `rows` on `past` (batch tensors `width` wide, laid out as `layout`): each row's
   * logits (from the screened head where `screened`) and the presents, one column wider, by past
   * input name.
   */
  rows(
    layout: BatchLayout,
    rows: readonly RowInput[],
    past: ReadonlyMap<string, OrtTensor>,
    width: number,
    screened: boolean,
  ): Promise<{ logits: RowLogits[]; presents: Map<string, OrtTensor> }>;
}

interface Pending {
  readonly token: number;
  readonly resolve: (logits: RowLogits) => void;
  readonly reject: (error: Error) => void;
}

/** A sequence's place in the batch. */
export interface Member {
  /** Its own cache while it decodes alone or has not been placed in the batch tensors yet. */
  cache: KvCache | null;
  /** The tokens whose keys and values it holds (in `cache`, or in its row of the batch). */
  tokens: number[];
  pending: Pending | null;
  /** Whether its steps may take the screened head (a step is screened when all its rows may). */
  readonly screened: boolean;
}

/**
 * The sequences decoding on one model. Invariants: a step runs once every member has asked for
 * one (so rows stay aligned without holes), and one step at a time; a member alone runs on its own
 * cache as a single sequence always has; the batch tensors hold exactly the rows of `#rows`, and
 * a member's keys and values are in its `cache` or in its row, never both.
 */
export class DecodeBatch {
  readonly #members: Member[] = [];
  #rows: Member[] = [];
  #past: Map<string, OrtTensor> | null = null;
  #width = 0;
  #scheduled = false;
  #running = false;
  /** Bytes of keys and values copied into and out of the batch tensors so far (for the benchmark). */
  copiedBytes = 0;
  /** Steps run with more than one row (for the benchmark and tests). */
  batchedSteps = 0;

  constructor(
    private readonly graph: BatchGraph,
    private readonly layout: BatchLayout | null,
  ) {}

  /** How many sequences are decoding. */
  get active(): number {
    return this.#members.length;
  }

  /** Adds a prefilled sequence; it takes part from its first step on. */
  join(cache: KvCache, screened = false): Member {
    const member: Member = { cache, tokens: [...cache.tokens], pending: null, screened };
    this.#members.push(member);
    return member;
  }

  /** Feeds `token` to `member` with the next step; resolves to the logits that follow it. */
  step(member: Member, token: number): Promise<RowLogits> {
    if (member.pending !== null) throw new RunnerError('internal', 'A sequence asked for two steps at once.');
    return new Promise((resolve, reject) => {
      member.pending = { token, resolve, reject };
      this.#schedule();
    });
  }

  /** Takes `member` out; returns its cache (copied out of the batch tensors if it was in them). */
  leave(member: Member): KvCache {
    const index = this.#members.indexOf(member);
    if (index !== -1) this.#members.splice(index, 1);
    const cache = member.cache ?? this.#extract(member);
    member.cache = null;
    if (this.#members.length === 0) this.#drop();
    // The others may all be waiting on this one.
    this.#schedule();
    return cache;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A macrotask: every sequence resolved by the last step asks for its next one first.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#tick();
    });
  }

  async #tick(): Promise<void> {
    if (this.#running || this.#members.length === 0) return;
    if (this.#members.some((member) => member.pending === null)) return;
    this.#running = true;
    const members = [...this.#members];
    const pending = members.map((member) => member.pending as Pending);
    for (const member of members) member.pending = null;
    try {
      const logits = await this.#run(members, pending);
      pending.forEach((request, index) => request.resolve(logits[index] as RowLogits));
    } catch (error) {
      this.#fail(members);
      const failure =
        error instanceof Error ? error : new RunnerError('internal', `Inference failed: ${String(error)}`);
      for (const request of pending) request.reject(failure);
    } finally {
      this.#running = false;
    }
    if (this.#members.length > 0 && this.#members.every((member) => member.pending !== null))
      this.#schedule();
  }

  async #run(members: readonly Member[], pending: readonly Pending[]): Promise<RowLogits[]> {
    const screened = members.every((member) => member.screened);
    if (members.length === 1 || this.layout === null) {
      const member = members[0] as Member;
      if (member.cache === null) {
        member.cache = this.#extract(member);
        this.#drop();
      }
      const token = (pending[0] as Pending).token;
      const logits = await this.graph.solo(member.cache, [token], screened);
      member.tokens.push(token);
      return [logits];
    }
    if (!sameMembers(this.#rows, members)) this.#rebuild(members, this.layout);
    const rows = members.map((member, index) => ({
      token: (pending[index] as Pending).token,
      length: member.tokens.length,
    }));
    const { logits, presents } = await this.graph.rows(
      this.layout,
      rows,
      this.#past as Map<string, OrtTensor>,
      this.#width,
      screened,
    );
    this.#past = presents;
    this.#width++;
    this.batchedSteps++;
    members.forEach((member, index) => member.tokens.push((rows[index] as RowInput).token));
    return logits;
  }

  /** Lays `members` out in new batch tensors: the rows already there and the newcomers' caches. */
  #rebuild(members: readonly Member[], layout: BatchLayout): void {
    const { kvHeads, headDim, type } = this.graph.kv;
    const width = Math.max(...members.map((member) => member.tokens.length));
    const next = new Map<string, OrtTensor>();
    for (const name of pastNames(this.graph.kv)) {
      const target =
        type === 'float16'
          ? new Uint16Array(members.length * kvHeads * width * headDim)
          : new Float32Array(members.length * kvHeads * width * headDim);
      members.forEach((member, row) => {
        const length = member.tokens.length;
        const source =
          member.cache !== null
            ? { data: cpuData(member.cache.past.get(name)), rows: 1, row: 0, width: length, start: 0 }
            : {
                data: cpuData(this.#past?.get(name)),
                rows: this.#rows.length,
                row: this.#rows.indexOf(member),
                width: this.#width,
                start: layout === 'left' ? this.#width - length : 0,
              };
        if (source.row < 0) throw new RunnerError('internal', 'A batch row lost its keys and values.');
        const start = layout === 'left' ? width - length : 0;
        for (let head = 0; head < kvHeads; head++) {
          const from = ((source.row * kvHeads + head) * source.width + source.start) * headDim;
          target.set(
            source.data.subarray(from, from + length * headDim),
            ((row * kvHeads + head) * width + start) * headDim,
          );
        }
        this.copiedBytes += kvHeads * length * headDim * target.BYTES_PER_ELEMENT;
      });
      next.set(name, tensor(type, target, [members.length, kvHeads, width, headDim]));
    }
    for (const member of members) {
      member.cache?.clear();
      member.cache = null;
    }
    this.#past = next;
    this.#rows = [...members];
    this.#width = width;
  }

  /** A copy of `member`'s row of the batch tensors as a cache of its own. */
  #extract(member: Member): KvCache {
    const row = this.#rows.indexOf(member);
    if (row < 0 || this.#past === null)
      throw new RunnerError('internal', 'A batch row lost its keys and values.');
    const { kvHeads, headDim, type } = this.graph.kv;
    const length = member.tokens.length;
    const start = this.layout === 'left' ? this.#width - length : 0;
    const past = new Map<string, OrtTensor>();
    for (const name of pastNames(this.graph.kv)) {
      const source = cpuData(this.#past.get(name));
      const target =
        type === 'float16'
          ? new Uint16Array(kvHeads * length * headDim)
          : new Float32Array(kvHeads * length * headDim);
      for (let head = 0; head < kvHeads; head++) {
        const from = ((row * kvHeads + head) * this.#width + start) * headDim;
        target.set(source.subarray(from, from + length * headDim), head * length * headDim);
      }
      this.copiedBytes += target.byteLength;
      past.set(name, tensor(type, target, [1, kvHeads, length, headDim]));
    }
    return KvCache.adopt(this.graph.kv, member.tokens, past);
  }

  /** After a failed step: the batch tensors may be half-advanced, so every row's cache is lost. */
  #fail(members: readonly Member[]): void {
    for (const member of members) {
      if (member.cache === null) member.cache = new KvCache(this.graph.kv);
      else member.cache.clear();
      member.tokens = [];
    }
    this.#drop();
  }

  #drop(): void {
    this.#past = null;
    this.#rows = [];
    this.#width = 0;
  }
}

function sameMembers(a: readonly Member[], b: readonly Member[]): boolean {
  return a.length === b.length && a.every((member, index) => member === b[index]);
}

function pastNames(kv: KvLayout): string[] {
  const names: string[] = [];
  for (let layer = 0; layer < kv.layers; layer++)
    names.push(`past_key_values.${layer}.key`, `past_key_values.${layer}.value`);
  return names;
}

/** A CPU tensor's elements (batching runs on CPU sessions only, see `LanguageModel`). */
function cpuData(value: OrtTensor | undefined): Float32Array | Uint16Array {
  const data = value?.data;
  if (data instanceof Float32Array || data instanceof Uint16Array) return data;
  throw new RunnerError('internal', 'Batched keys and values must be float32 or float16 on the CPU.');
}
