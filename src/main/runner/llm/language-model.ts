import { basename } from 'node:path';
import { readModelConfig } from '../model/model-config';
import { positiveInt, tokenIds, type JsonObject } from '../model/model-files';
import {
  forgetFusion,
  openSession,
  tensor,
  type OpenedSession,
  type OpenOptions,
  type OrtTensor,
  type Session,
} from '../onnx/session';
import { halfBits, halfToFloat32 } from '../onnx/float16';
import {
  EXACT_INPUT,
  HIDDEN_OUTPUT,
  LEVELS_OUTPUT,
  SCALE_OUTPUT,
  ZERO_OUTPUT,
  type ScreenTables,
} from '../onnx/screen-rewrite';
import { ortErrorText } from '../onnx/ort-errors';
import type { BatchingInfo } from '../../../shared/runner-protocol';
import { RunnerError } from '../runner-error';
import { ChatTemplate } from '../text/chat-template';
import { TextTokenizer } from '../text/tokenizer';
import { checkGraph, intRows, keepTensor, spanMask, type GraphFeeds, type IntType } from './graph-inputs';
import { DecodeBatch, type BatchLayout, type RowInput } from './decode-batch';
import { exactLogits, HeadScreen, type RowLogits, type RowScreen } from './head-screen';
import { asFeedable, commonPrefix, KvCache, type KvLayout } from './kv-cache';
import { PrefillQueue, type PrefillRow } from './prefill-queue';
import { PrefixStore } from './prefix-store';
import { Sequence } from './sequence';
import { argmax } from './top-k';

/** Prompt tokens per prefill run: bounds memory and lets a cancel land between chunks. */
const PREFILL_CHUNK = 512;
/** Prompt tokens per prefill run while other sequences decode: they step between chunks. */
const BUSY_PREFILL_CHUNK = 64;
/** Logits of a batched step and of the same sequence alone may differ by summation order, not more. */
const PROBE_TOLERANCE = 1e-3;

/** How a model serves concurrent sequences, as the runner reports it at load. */
export type Batching = BatchingInfo;
/** Without `num_logits_to_keep`, each prefill chunk returns logits for every position: cap their size. */
const MAX_LOGITS_FLOATS = 16 * 1024 * 1024;
/** The prompt of the load check: short, plain text any tokenizer encodes. */
const CHECK_PROMPT = 'Hello! How are you today?';

/**
 * A decoder-only language model on one onnxruntime session: its tokenizer, chat template, special
 * tokens, and the KV cache of the last sequence it processed. Reads the graph's inputs and feeds
 * what it declares, in the element types it declares (position ids, logits-to-keep, the
 * merged-decoder cache switch; int64 or int32 ids; float32 or float16 keys, values and logits).
 */
export class LanguageModel {
  readonly cache: KvCache;
  readonly #feeds: GraphFeeds;
  readonly #fetches: string[];
  /** The fetches of a screened run: the logits, the presents, the head's input and its quantization. */
  readonly #screenFetches: string[];
  #screen: HeadScreen | null = null;
  #screenNote: string | null = null;
  #screenedRuns = 0;
  #ones: BigInt64Array | Int32Array;
  #store: PrefixStore;
  #batch: DecodeBatch;
  #prompts: PrefillQueue;
  #active = 0;
  #prefillCopied = 0;
  #batching: Batching = { parallel: 1, layout: null, reason: null };
  #converted = new Float32Array(0);

  private constructor(
    private readonly session: Session,
    readonly tokenizer: TextTokenizer,
    readonly template: ChatTemplate | null,
    readonly layout: KvLayout,
    readonly eosIds: ReadonlySet<number>,
    readonly contextLength: number,
    readonly vocabSize: number,
    feeds: GraphFeeds,
  ) {
    this.cache = new KvCache(layout);
    this.#feeds = feeds;
    this.#fetches = ['logits'];
    for (let layer = 0; layer < layout.layers; layer++)
      this.#fetches.push(`present.${layer}.key`, `present.${layer}.value`);
    this.#screenFetches = [...this.#fetches, HIDDEN_OUTPUT, LEVELS_OUTPUT, SCALE_OUTPUT, ZERO_OUTPUT];
    this.#ones = ones(feeds.mask ?? 'int64', Math.min(contextLength, 4096));
    this.#store = new PrefixStore(layout);
    this.#batch = this.#newBatch(null);
    this.#prompts = this.#newPrompts(null);
  }

  /** How this model serves concurrent sequences. */
  get batching(): Batching {
    return this.#batching;
  }

  /** Whether greedy sequences take the screened LM head (head-screen.ts). */
  get screening(): boolean {
    return this.#screen !== null;
  }

  /** Runs that took the screened head so far (for tests and the benchmark). */
  get screenedRuns(): number {
    return this.#screenedRuns;
  }

  /** Why a screened head the graph has is not used (it failed its load check); null otherwise. */
  get screenNote(): string | null {
    return this.#screenNote;
  }

  /** Batch statistics: steps run with several rows, and bytes of keys and values copied for them. */
  get batchStats(): {
    readonly batchedSteps: number;
    readonly batchedPrefills: number;
    readonly copiedBytes: number;
  } {
    return {
      batchedSteps: this.#batch.batchedSteps,
      batchedPrefills: this.#prompts.batchedRuns,
      copiedBytes: this.#batch.copiedBytes + this.#prefillCopied,
    };
  }

  /**
   * Opens the model in `dir` from its ONNX file `modelFile` and checks it: a model whose graph
   * Lodge cannot feed, or whose logits on a short prompt are not finite or all equal, is refused
   * with `model_load_failed` naming `name` and what was wrong, so it never answers garbage.
   */
  static async open(
    dir: string,
    modelFile: string,
    options: OpenOptions,
    name = basename(dir),
    parallel = 1,
  ): Promise<{ model: LanguageModel; opened: OpenedSession }> {
    const { config, generation } = readModelConfig(dir);
    const tokenizer = TextTokenizer.load(dir);
    const window = slidingWindow(config, name);
    const sessionOptions = { ...options, outputLocations: deviceOutputs(config) };
    const build = (session: Session) => {
      const feeds = checkGraph(session, name);
      const layout = kvLayout(config, session, feeds);
      const eos = new Set([...tokenIds(generation.eos_token_id), ...tokenIds(config.eos_token_id)]);
      const eosText = tokenizer.special('eos_token');
      const eosId = eosText === null ? undefined : tokenizer.idOf(eosText);
      if (eosId !== undefined) eos.add(eosId);
      const maxLength = positiveInt(tokenizer.config.model_max_length);
      const contextLength = Math.min(
        window ?? Infinity,
        positiveInt(config.max_position_embeddings) ??
          (maxLength !== undefined && maxLength < 10_000_000 ? maxLength : 2048),
      );
      const vocab = positiveInt(config.vocab_size) ?? 0;
      return new LanguageModel(
        session,
        tokenizer,
        ChatTemplate.forModel(dir, tokenizer),
        layout,
        eos,
        contextLength,
        vocab,
        feeds,
      );
    };
    let opened = await openSession(modelFile, sessionOptions);
    try {
      let model = build(opened.session);
      if (opened.fusion !== null && !(await model.#fusionHolds(opened, modelFile, sessionOptions, build))) {
        // The fused graph does not compute what the export does (or does not run): the export runs,
        // and the cache remembers, so the next load does not fuse again.
        await opened.session.release();
        forgetFusion(opened.fusedFrom as string, options.cacheDir);
        opened = await openSession(modelFile, { ...sessionOptions, fuse: false });
        model = build(opened.session);
      }
      await model.#check(name);
      if (opened.screen !== null) await model.#useScreen(opened.screen);
      if (parallel > 1) {
        const reason = await model.#batchRefusal(opened, window);
        const layout = reason === null ? await model.#probeLayout() : null;
        model.#batching = {
          parallel: layout === null ? 1 : parallel,
          layout,
          reason:
            reason ??
            (layout === null
              ? 'a test batch of two prompts of different lengths did not give each prompt its own logits'
              : null),
        };
        model.#batch = model.#newBatch(layout);
        // GroupQueryAttention reads several new tokens after a cache in batches of one only (and
        // onnxruntime logs an error when asked): a fused graph's prompts are read together from empty caches.
        const prefill =
          layout === 'left' ? await model.#probePrefill(!((opened.fusion?.attention ?? 0) > 0)) : null;
        model.#prompts = model.#newPrompts(prefill === null ? null : 'left', prefill?.pastRows ?? false);
      }
      return { model, opened };
    } catch (error) {
      await opened.session.release();
      throw error;
    }
  }

  /**
   * Whether a graph fused at load (fused-graph.ts) computes what the graph it was made from does
   * (the export, or its quantization at load): on a fusion made now, the logits of a test prompt
   * and two decode steps on each, equal to within summation order (where int8 activations round
   * them apart, both graphs again with float activations); on one from the cache (checked when it
   * was made), that it runs. False where they differ.
   */
  async #fusionHolds(
    opened: OpenedSession,
    modelFile: string,
    options: OpenOptions,
    build: (session: Session) => LanguageModel,
  ): Promise<boolean> {
    let fused: TestRun;
    try {
      fused = await this.#testRun(null);
    } catch {
      return false;
    }
    if (opened.fromCache) return true;
    if (await this.#reproducedBy(fused, modelFile, { ...options, fuse: false, keepOptimized: false }, build))
      return true;
    // MatMulNBits at accuracy_level 4 round each row of activations to int8, and a rounding step
    // moves with the last ulp: there the two graphs differ by a percent of the logits' scale (1–2%
    // on the mid bench model quantized at load) where their float arithmetic agrees to 1e-6. Those
    // graphs are compared again, both with float activations.
    let twin: OpenedSession;
    try {
      twin = await openSession(modelFile, { ...options, providers: ['cpu'], floatActivations: true });
    } catch {
      return false; // nothing rounds: the difference is the fusion's
    }
    let floatRun: TestRun;
    try {
      floatRun = await build(twin.session).#testRun(null);
    } catch {
      return false;
    } finally {
      // Released before its source opens: no more than two copies of the weights at once.
      await twin.session.release();
    }
    return this.#reproducedBy(
      floatRun,
      modelFile,
      { ...options, providers: ['cpu'], fuse: false, floatActivations: true },
      build,
    );
  }

  /**
   * Whether the graph `options` open from `modelFile` gives the logits of `run` (to within
   * {@link PROBE_TOLERANCE} of their scale) when fed its tokens. False where it does not open or run.
   */
  async #reproducedBy(
    run: TestRun,
    modelFile: string,
    options: OpenOptions,
    build: (session: Session) => LanguageModel,
  ): Promise<boolean> {
    let other: OpenedSession;
    try {
      other = await openSession(modelFile, options);
    } catch {
      return false;
    }
    try {
      const reference = await build(other.session).#testRun(run.steps);
      return reference.rows.every((row, step) => near(run.rows[step] as Float32Array, row));
    } catch {
      // The source itself does not run: it opens as it is, and its load check says why.
      return false;
    } finally {
      await other.session.release();
    }
  }

  /**
   * Screens greedy steps with `tables` where the graph's screened head is within its bounds of the
   * exact one and picks the same tokens: on the load check's prompt and two greedy steps after it,
   * each run once with each head from the same cache. Otherwise every run takes the exact head, and
   * {@link screenNote} says why.
   */
  async #useScreen(tables: ScreenTables): Promise<void> {
    const screen = new HeadScreen(tables);
    const problem = await this.#screenProblem(screen);
    if (problem === null) this.#screen = screen;
    else this.#screenNote = `its screened lm_head is not used: ${problem}`;
  }

  /** What is wrong with screening this graph's head with `screen`, in words; null where nothing. */
  async #screenProblem(screen: HeadScreen): Promise<string | null> {
    if (!this.#feeds.exactSwitch || this.#feeds.keep === null) return 'its graph has no head switch';
    const exactCache = new KvCache(this.layout);
    const screenedCache = new KvCache(this.layout);
    const prompt = this.tokenizer.encode(CHECK_PROMPT);
    let tokens = prompt.length > 0 ? prompt : [0];
    try {
      for (let step = 0; step < 3; step++) {
        const exact = (await this.#feedRun(exactCache, tokens, false, false, false, screen)).values;
        const screened = await this.#feedRun(screenedCache, tokens, false, false, true, screen);
        const row = screened.screen;
        if (row === null || !row.covers(screened.values, exact))
          return 'a screened logit fell outside its bound';
        if (!screen.fitOrder(row, exact))
          return 'its exact head sums its logits in an order the screen does not reproduce';
        const token = row.argmax(screened.values.slice());
        if (token !== argmax(exact)) return 'it chose another token than the exact head';
        tokens = [token];
      }
      return null;
    } catch (error) {
      return `it failed to run (${(error as Error).message})`;
    } finally {
      exactCache.clear();
      screenedCache.clear();
    }
  }

  /**
   * The logits (copies) of the load check's prompt and of two steps after it: the tokens of
   * `steps`, or greedy ones where null; and the tokens fed.
   */
  async #testRun(steps: readonly number[] | null): Promise<TestRun> {
    const scratch = new KvCache(this.layout);
    const prompt = this.tokenizer.encode(CHECK_PROMPT);
    try {
      const rows = [(await this.#run(scratch, prompt.length > 0 ? prompt : [0], false)).slice()];
      const fed: number[] = [];
      for (let step = 0; step < 2; step++) {
        fed.push(steps?.[step] ?? argmax(rows.at(-1) as Float32Array));
        rows.push((await this.#run(scratch, [fed[step] as number], false)).slice());
      }
      return { rows, steps: fed };
    } finally {
      scratch.clear();
    }
  }

  /**
   * Brings the cache to `tokens` and returns the logits that follow them. Reuses the longest common
   * prefix with what the cache holds; the rest is fed in chunks. `reused` counts the tokens skipped.
   */
  async prefill(
    tokens: readonly number[],
    signal?: AbortSignal,
  ): Promise<{ logits: Float32Array; reused: number }> {
    // At least the last token is always fed: its logits are what the next token is chosen from.
    const reused = Math.min(commonPrefix(this.cache.tokens, tokens), tokens.length - 1);
    await this.cache.truncate(reused);
    const chunk = this.#prefillChunk();
    let logits: Float32Array | null = null;
    for (let start = reused; start < tokens.length; start += chunk) {
      if (signal?.aborted) throw new RunnerError('cancelled', 'The request was cancelled.');
      logits = await this.#run(this.cache, tokens.slice(start, start + chunk), false);
    }
    return { logits: logits as Float32Array, reused };
  }

  /** Feeds one token after the cache and returns the logits that follow it. */
  async step(token: number): Promise<Float32Array> {
    return this.#run(this.cache, [token], false);
  }

  /**
   * Logits for every position of `tokens` from a fresh, empty cache in one pass (no reuse, no
   * chunking). For tests that compare cached and uncached decoding; leaves the runner's cache alone.
   */
  async logitsOfAll(tokens: readonly number[]): Promise<Float32Array[]> {
    const scratch = new KvCache(this.layout);
    const flat = await this.#run(scratch, tokens, true, true);
    scratch.clear();
    // The graph's logits width, which config.json may not state (or may state padded).
    const width = flat.length / tokens.length;
    const rows: Float32Array[] = [];
    for (let row = 0; row < tokens.length; row++) rows.push(flat.subarray(row * width, (row + 1) * width));
    return rows;
  }

  /**
   * Starts a sequence (close it when done). Invariant: at most `batching.parallel` at once; the
   * scheduler queues requests beyond that, and this catches any that slip past. `screened`: its
   * picks are greedy without log-probabilities, so its runs may take the screened head.
   */
  openSequence(screened = false): Sequence {
    if (this.#active >= this.#batching.parallel)
      throw new RunnerError(
        'internal',
        `The model is already generating ${this.#active} sequence(s), its most; requests must be queued.`,
      );
    this.#active++;
    return new Sequence(
      this.#batch,
      this.#store,
      this.#prompts,
      () => {
        this.#active--;
      },
      screened && this.#screen !== null,
    );
  }

  /** Forgets every cached prefix (the next request reads its whole prompt). */
  clearCache(): void {
    this.cache.clear();
    this.#store.clear();
  }

  /** Frees the session. */
  async release(): Promise<void> {
    await this.session.release();
  }

  /**
   * The load check: a short prompt, then one cached step (so the keys and values fed back are read
   * too). Its logits must be finite and not all equal, or the model is refused.
   */
  async #check(name: string): Promise<void> {
    const scratch = new KvCache(this.layout);
    const prompt = this.tokenizer.encode(CHECK_PROMPT);
    const tokens = prompt.length > 0 ? prompt : [0];
    const problem = (logits: Float32Array): string | null => {
      let min = Infinity;
      let max = -Infinity;
      for (let index = 0; index < logits.length; index++) {
        const value = logits[index] as number;
        if (!Number.isFinite(value))
          return `its logits are not finite (${value} at token ${index}): the weights or the export are broken`;
        if (value < min) min = value;
        if (value > max) max = value;
      }
      if (logits.length === 0) return 'it returned no logits';
      if (max === min) return `its logits are all equal (${max}): the model computes nothing from its input`;
      return null;
    };
    let found: string | null;
    try {
      const first = await this.#run(scratch, tokens, false);
      found = problem(first);
      if (found === null) found = problem(await this.#run(scratch, [argmax(first)], false));
    } catch (error) {
      found = `a test prompt failed to run (${(error as Error).message})`;
    } finally {
      scratch.clear();
    }
    if (found !== null) {
      throw new RunnerError(
        'model_load_failed',
        `${name} failed its load check and was not loaded: on a test prompt, ${found}.`,
      );
    }
  }

  /** Prompt tokens per prefill run alone. */
  #prefillChunk(): number {
    return this.#feeds.keep !== null
      ? PREFILL_CHUNK
      : Math.max(1, Math.min(PREFILL_CHUNK, Math.floor(MAX_LOGITS_FLOATS / Math.max(1, this.vocabSize))));
  }

  #newPrompts(layout: BatchLayout | null, pastRows = false): PrefillQueue {
    return new PrefillQueue({
      solo: (cache, tokens, screened) => this.#feedRun(cache, tokens, false, false, screened),
      // Prompts of different lengths are read together only where padding is a mask (left).
      rows: layout === 'left' ? (rows, screened) => this.#runPrefillRows(rows, screened) : null,
      pastRows,
      chunk: (count, busy) => {
        const alone = busy ? BUSY_PREFILL_CHUNK : this.#prefillChunk();
        return this.#feeds.keep !== null ? alone : Math.max(1, Math.floor(alone / count));
      },
      busy: () => this.#batch.active > 0,
    });
  }

  /**
   * Several prompts' next chunks in one run, each row after its own cache: the pasts right-aligned
   * in the first columns, the new tokens right-aligned in the last, the gaps masked, positions each
   * row's own. Each cache is then advanced with its row's columns of the presents (copied out).
   */
  async #runPrefillRows(rows: readonly PrefillRow[], screened = false): Promise<RowLogits[]> {
    const screen = screened ? this.#screen : null;
    const { kvHeads, headDim, type } = this.layout;
    const count = rows.length;
    const pastWidth = Math.max(...rows.map((row) => row.cache.tokens.length));
    const newWidth = Math.max(...rows.map((row) => row.tokens.length));
    const total = pastWidth + newWidth;
    const { ids, mask, positions, keep, cacheBranch } = this.#feeds;
    const padOf = (row: number) => newWidth - (rows[row] as PrefillRow).tokens.length;
    const pastOf = (row: number) => (rows[row] as PrefillRow).cache.tokens.length;
    const feeds: Record<string, OrtTensor> = {
      input_ids: intRows(
        ids,
        count,
        newWidth,
        byCell(newWidth, (row, column) => {
          const pad = padOf(row);
          return column < pad ? 0 : ((rows[row] as PrefillRow).tokens[column - pad] as number);
        }),
      ),
    };
    // Each row's own past (right-aligned in the first columns), then its own new tokens.
    if (mask !== null)
      feeds.attention_mask = spanMask(mask, count, total, (row) => [
        pastWidth - pastOf(row),
        pastWidth,
        pastWidth + padOf(row),
        total,
      ]);
    if (positions !== null)
      feeds.position_ids = intRows(
        positions,
        count,
        newWidth,
        byCell(newWidth, (row, column) => Math.max(0, pastOf(row) + column - padOf(row))),
      );
    if (keep !== null) feeds[keep.name] = keepTensor(keep.type, 1);
    if (cacheBranch) feeds.use_cache_branch = tensor('bool', Uint8Array.of(pastWidth > 0 ? 1 : 0), [1]);
    if (this.#feeds.exactSwitch) feeds[EXACT_INPUT] = exactSwitch(screen === null);
    const make = (length: number) =>
      type === 'float16' ? new Uint16Array(length) : new Float32Array(length);
    for (let layer = 0; layer < this.layout.layers; layer++) {
      for (const part of ['key', 'value'] as const) {
        const name = `past_key_values.${layer}.${part}`;
        const target = make(count * kvHeads * pastWidth * headDim);
        rows.forEach((row, index) => {
          const length = row.cache.tokens.length;
          if (length === 0) return;
          const source = row.cache.past.get(name)?.data as Float32Array | Uint16Array;
          for (let head = 0; head < kvHeads; head++)
            target.set(
              source.subarray(head * length * headDim, (head + 1) * length * headDim),
              ((index * kvHeads + head) * pastWidth + pastWidth - length) * headDim,
            );
          this.#prefillCopied += kvHeads * length * headDim * target.BYTES_PER_ELEMENT;
        });
        feeds[name] = tensor(type, target, [count, kvHeads, pastWidth, headDim]);
      }
    }

    let outputs: Record<string, OrtTensor>;
    try {
      outputs = await this.session.run(feeds, screen === null ? this.#fetches : this.#screenFetches);
      if (screen !== null) this.#screenedRuns++;
    } catch (error) {
      for (const row of rows) row.cache.clear();
      throw new RunnerError('internal', `Inference failed: ${ortErrorText(error)}`);
    }
    rows.forEach((row, index) => {
      const own: Record<string, OrtTensor> = {};
      const past = row.cache.tokens.length;
      const fed = row.tokens.length;
      const length = past + fed;
      for (let layer = 0; layer < this.layout.layers; layer++) {
        for (const part of ['key', 'value'] as const) {
          const name = `present.${layer}.${part}`;
          const source = asFeedable(outputs[name] as OrtTensor).data as Float32Array | Uint16Array;
          const target = make(kvHeads * length * headDim);
          for (let head = 0; head < kvHeads; head++) {
            const base = (index * kvHeads + head) * total;
            target.set(
              source.subarray((base + pastWidth - past) * headDim, (base + pastWidth) * headDim),
              head * length * headDim,
            );
            target.set(
              source.subarray((base + total - fed) * headDim, (base + total) * headDim),
              (head * length + past) * headDim,
            );
          }
          this.#prefillCopied += target.byteLength;
          own[name] = tensor(type, target, [1, kvHeads, length, headDim]);
        }
      }
      row.cache.advance(own, row.tokens);
    });
    const logits = outputs.logits as OrtTensor;
    const vocab = logits.dims.at(-1) ?? this.vocabSize;
    const perRow = logits.data.length / count;
    const out: Float32Array[] = [];
    // Views, not copies: each row's region of this run's own logits is that prompt's alone (a copy
    // of eight 151,936-token rows held every prompt's first token back by about 3 ms).
    for (let row = 0; row < count; row++) {
      const end = (row + 1) * perRow;
      if (logits.type === 'float16')
        out.push(halfToFloat32(halfBits(logits.data as Uint16Array).subarray(end - vocab, end)));
      else out.push((logits.data as Float32Array).subarray(end - vocab, end));
    }
    return withScreens(out, screen, outputs);
  }

  #newBatch(layout: BatchLayout | null): DecodeBatch {
    return new DecodeBatch(
      {
        kv: this.layout,
        solo: (cache, tokens, screened) => this.#feedRun(cache, tokens, false, false, screened),
        rows: (at, rows, past, width, screened) => this.#runRows(at, rows, past, width, screened),
      },
      layout,
    );
  }

  /** Why this graph cannot batch, from what it declares; null when a test batch may tell. */
  async #batchRefusal(opened: OpenedSession, window: number | null): Promise<string | null> {
    const batchDim = opened.session.inputs.find((input) => input.name === 'input_ids')?.shape[0];
    if (typeof batchDim === 'number' && batchDim === 1) return "its graph's batch dimension is fixed to 1";
    if (window !== null)
      return `it uses sliding-window attention (${window} tokens), which padding would shift`;
    if (opened.provider !== 'cpu') return `batching runs on the CPU, and it runs on ${opened.provider}`;
    return null;
  }

  /**
   * Whether prompts of different lengths read in one padded run (see {@link #runPrefillRows}) give
   * each its own logits, as the same two prompts read alone do: null where not (prompts are then
   * read in turn); else whether rows whose caches already hold tokens can be among them
   * (`pastRows`: each prompt's second half read together after its first half alone; false
   * without probing unless `probePast`).
   */
  async #probePrefill(probePast: boolean): Promise<{ pastRows: boolean } | null> {
    const prompts = this.#probePrompts();
    const alone: Float32Array[] = [];
    for (const prompt of prompts) {
      const cache = new KvCache(this.layout);
      alone.push((await this.#run(cache, prompt, false)).slice());
      cache.clear();
    }
    const together = async (split: boolean): Promise<boolean> => {
      const rows = prompts.map((tokens) => ({ cache: new KvCache(this.layout), tokens }));
      try {
        const halves = split ? prompts.map((tokens) => Math.floor(tokens.length / 2)) : prompts.map(() => 0);
        for (const [index, row] of rows.entries())
          if ((halves[index] as number) > 0)
            await this.#run(row.cache, row.tokens.slice(0, halves[index]), false);
        const logits = await this.#runPrefillRows(
          rows.map((row, index) => ({ cache: row.cache, tokens: row.tokens.slice(halves[index]) })),
        );
        return logits.every((row, index) => near(row.values, alone[index] as Float32Array));
      } catch {
        return false;
      } finally {
        for (const row of rows) row.cache.clear();
      }
    };
    if (!(await together(false))) return null;
    return { pastRows: probePast && (await together(true)) };
  }

  /** Two prompts of different lengths for the batching probes. */
  #probePrompts(): number[][] {
    const encoded = this.tokenizer.encode(CHECK_PROMPT);
    const long = encoded.length >= 4 ? encoded : [...encoded, 1, 2, 3, 4].slice(0, 4);
    return [long, long.slice(0, long.length - 2)];
  }

  /**
   * Finds how this graph batches sequences of different lengths: two prompts of different lengths
   * decode two steps together in each layout, and the first layout whose logits match each prompt
   * decoded alone wins. Null when none does (sequences then run one at a time).
   */
  async #probeLayout(): Promise<BatchLayout | null> {
    const prompts = this.#probePrompts();
    const alone: Float32Array[][] = [];
    const steps: number[][] = [];
    for (const prompt of prompts) {
      const cache = new KvCache(this.layout);
      const first = await this.#run(cache, prompt, false);
      const next = [argmax(first)];
      const rows = [await this.#run(cache, [next[0] as number], false)];
      next.push(argmax(rows[0] as Float32Array));
      rows.push(await this.#run(cache, [next[1] as number], false));
      cache.clear();
      alone.push(rows.map((row) => row.slice()));
      steps.push(next);
    }
    for (const layout of ['left', 'right'] as const) {
      const batch = this.#newBatch(layout);
      const members = [];
      for (const prompt of prompts) {
        const cache = new KvCache(this.layout);
        await this.#run(cache, prompt, false);
        members.push(batch.join(cache));
      }
      let same = true;
      try {
        for (let step = 0; step < 2 && same; step++) {
          const logits = await Promise.all(
            members.map((member, index) => batch.step(member, steps[index]?.[step] as number)),
          );
          same = logits.every((row, index) => near(row.values, alone[index]?.[step] as Float32Array));
        }
      } catch {
        same = false;
      }
      for (const member of members) batch.leave(member).clear();
      if (same) return layout;
    }
    return null;
  }

  /** One batched decode step: each row's token after its own keys and values, laid out as `layout`. */
  async #runRows(
    layout: BatchLayout,
    rows: readonly RowInput[],
    past: ReadonlyMap<string, OrtTensor>,
    width: number,
    screened = false,
  ): Promise<{ logits: RowLogits[]; presents: Map<string, OrtTensor> }> {
    const screen = screened ? this.#screen : null;
    const count = rows.length;
    const total = width + 1;
    const { ids, mask, positions, keep, cacheBranch } = this.#feeds;
    const feeds: Record<string, OrtTensor> = {
      input_ids: intRows(ids, count, 1, (row) => (rows[row] as RowInput).token),
    };
    if (mask !== null)
      feeds.attention_mask = spanMask(mask, count, total, (row) => {
        const own = (rows[row] as RowInput).length + 1;
        return layout === 'left' ? [total - own, total] : [0, own];
      });
    if (positions !== null)
      feeds.position_ids = intRows(positions, count, 1, (row) => (rows[row] as RowInput).length);
    if (keep !== null) feeds[keep.name] = keepTensor(keep.type, 1);
    if (cacheBranch) feeds.use_cache_branch = tensor('bool', Uint8Array.of(1), [1]);
    if (this.#feeds.exactSwitch) feeds[EXACT_INPUT] = exactSwitch(screen === null);
    for (const [name, value] of past) feeds[name] = value;

    let outputs: Record<string, OrtTensor>;
    try {
      outputs = await this.session.run(feeds, screen === null ? this.#fetches : this.#screenFetches);
      if (screen !== null) this.#screenedRuns++;
    } catch (error) {
      throw new RunnerError('internal', `Inference failed: ${ortErrorText(error)}`);
    }
    const presents = new Map<string, OrtTensor>();
    for (let layer = 0; layer < this.layout.layers; layer++) {
      for (const part of ['key', 'value'] as const) {
        const present = outputs[`present.${layer}.${part}`];
        if (!present || present.dims[0] !== count || present.dims[2] !== total)
          throw new RunnerError(
            'internal',
            `The model returned present.${layer}.${part} in an unexpected shape.`,
          );
        presents.set(`past_key_values.${layer}.${part}`, asFeedable(present));
      }
    }
    const logits = outputs.logits as OrtTensor;
    const vocab = logits.dims.at(-1) ?? this.vocabSize;
    const perRow = logits.data.length / count;
    const out: Float32Array[] = [];
    // fp16 rows are read into one float32 buffer kept across steps: a step's rows are used only
    // until every row has asked for the next step (see DecodeBatch), which overwrites them.
    const converted = logits.type === 'float16' ? this.#rowLogits(count * vocab) : null;
    for (let row = 0; row < count; row++) {
      const end = (row + 1) * perRow;
      if (converted !== null)
        out.push(
          halfToFloat32(
            halfBits(logits.data as Uint16Array).subarray(end - vocab, end),
            converted.subarray(row * vocab, (row + 1) * vocab),
          ),
        );
      else out.push((logits.data as Float32Array).subarray(end - vocab, end));
    }
    return { logits: withScreens(out, screen, outputs), presents };
  }

  /** One run after `cache` on the exact head: the logits after the last token (all: `returnAll`). */
  async #run(
    cache: KvCache,
    tokens: readonly number[],
    keepAll: boolean,
    returnAll = false,
  ): Promise<Float32Array> {
    return (await this.#feedRun(cache, tokens, keepAll, returnAll, false)).values;
  }

  /**
   * Feeds `tokens` after `cache`, advancing it: the logits after the last token (of every position
   * where `returnAll`), from the screened head where `screened` and the model screens (or with
   * `screen`, for its load check).
   */
  async #feedRun(
    cache: KvCache,
    tokens: readonly number[],
    keepAll: boolean,
    returnAll: boolean,
    screened: boolean,
    screen: HeadScreen | null = this.#screen,
  ): Promise<RowLogits> {
    const used = screened && !keepAll ? screen : null;
    const past = cache.tokens.length;
    const total = past + tokens.length;
    const { ids, mask, positions, keep, cacheBranch } = this.#feeds;
    const feeds: Record<string, OrtTensor> = {
      input_ids: intRows(ids, 1, tokens.length, (index) => tokens[index] as number),
    };
    if (mask !== null) feeds.attention_mask = tensor(mask, this.#onesOf(total), [1, total]);
    if (positions !== null)
      feeds.position_ids = intRows(positions, 1, tokens.length, (index) => past + index);
    if (keep !== null) feeds[keep.name] = keepTensor(keep.type, keepAll ? 0 : 1);
    if (cacheBranch) feeds.use_cache_branch = tensor('bool', Uint8Array.of(past > 0 ? 1 : 0), [1]);
    if (this.#feeds.exactSwitch) feeds[EXACT_INPUT] = exactSwitch(used === null);
    for (const [name, value] of cache.past) feeds[name] = value;

    let outputs: Record<string, OrtTensor>;
    try {
      outputs = await this.session.run(feeds, used === null ? this.#fetches : this.#screenFetches);
      if (used !== null) this.#screenedRuns++;
    } catch (error) {
      cache.clear();
      throw new RunnerError('internal', `Inference failed: ${ortErrorText(error)}`);
    }
    cache.advance(outputs, tokens);
    const logits = outputs.logits as OrtTensor;
    const vocab = logits.dims.at(-1) ?? this.vocabSize;
    if (logits.type === 'float16') {
      // fp16 logits are raw half-precision bits: read as float32, never reinterpreted.
      const bits = halfBits(logits.data as Uint16Array);
      return exactLogits(halfToFloat32(returnAll ? bits : bits.subarray(bits.length - vocab)));
    }
    const data = logits.data as Float32Array;
    if (returnAll) return exactLogits(data);
    return withScreens([data.subarray(data.length - vocab)], used, outputs)[0] as RowLogits;
  }

  /** The float32 buffer batched fp16 logits are read into, grown as needed. */
  #rowLogits(length: number): Float32Array<ArrayBuffer> {
    if (this.#converted.length < length) this.#converted = new Float32Array(length);
    return this.#converted;
  }

  /** An all-ones attention mask of `length`, viewed from a buffer grown as needed. */
  #onesOf(length: number): BigInt64Array | Int32Array {
    if (length > this.#ones.length)
      this.#ones = ones(this.#feeds.mask ?? 'int64', Math.max(length, this.#ones.length * 2));
    return this.#ones.subarray(0, length);
  }
}

/**
 * Where a GPU session puts its outputs: the presents stay on the device (they are fed straight back
 * as the next step's past), the logits come to the CPU, where tokens are chosen. Named from
 * config.json's layer count, since a session needs the names when it is created.
 */
function deviceOutputs(config: JsonObject): Readonly<Record<string, 'cpu' | 'gpu-buffer'>> {
  const locations: Record<string, 'cpu' | 'gpu-buffer'> = { logits: 'cpu' };
  const layers = positiveInt(config.num_hidden_layers) ?? 0;
  for (let layer = 0; layer < layers; layer++) {
    locations[`present.${layer}.key`] = 'gpu-buffer';
    locations[`present.${layer}.value`] = 'gpu-buffer';
  }
  return locations;
}

/** The head switch: true runs the exact head. */
function exactSwitch(exact: boolean): OrtTensor {
  return tensor('bool', Uint8Array.of(exact ? 1 : 0), []);
}

/**
 * A run's rows as RowLogits: exact where `screen` is null, else each with its row's screen over
 * the head's input the run returned (one position a row).
 */
function withScreens(
  rows: readonly Float32Array[],
  screen: HeadScreen | null,
  outputs: Record<string, OrtTensor>,
): RowLogits[] {
  if (screen === null) return rows.map(exactLogits);
  const hidden = outputs[HIDDEN_OUTPUT];
  const levels = outputs[LEVELS_OUTPUT];
  const scale = outputs[SCALE_OUTPUT]?.data[0];
  const zero = outputs[ZERO_OUTPUT]?.data[0];
  if (
    hidden?.type !== 'float32' ||
    levels?.type !== 'uint8' ||
    typeof scale !== 'number' ||
    typeof zero !== 'number'
  )
    throw new RunnerError(
      'internal',
      'The screened head did not return its hidden state and its quantization.',
    );
  const screens = screen.rows(
    hidden.data as Float32Array,
    { levels: levels.data as Uint8Array, scale, zero },
    rows.length,
  );
  return rows.map((values, row) => ({ values, screen: screens[row] as RowScreen }));
}

/** An element-index callback over a [rows, `columns`] matrix from a (row, column) one. */
function byCell(columns: number, value: (row: number, column: number) => number): (index: number) => number {
  return (index) => value(Math.floor(index / columns), index % columns);
}

/** The logits of a test prompt and the two steps after it, and the tokens of those steps. */
interface TestRun {
  readonly rows: Float32Array[];
  readonly steps: number[];
}

/** Whether two logit rows agree within {@link PROBE_TOLERANCE} of their scale. */
function near(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  let scale = 1;
  for (const value of b) scale = Math.max(scale, Math.abs(value));
  for (let index = 0; index < a.length; index++)
    if (!(Math.abs((a[index] as number) - (b[index] as number)) <= PROBE_TOLERANCE * scale)) return false;
  return true;
}

function ones(type: IntType, length: number): BigInt64Array | Int32Array {
  return type === 'int32' ? new Int32Array(length).fill(1) : new BigInt64Array(length).fill(1n);
}

/**
 * The sliding window a config declares, checked. Gemma-style configs interleave sliding and global
 * layers (`layer_types`, `sliding_window_pattern`, Gemma 2/3), and exports differ in how their
 * sliding layers keep keys and values: refused, naming it. A window on every layer (Mistral v0.1,
 * Phi-3) is returned: within it, sliding-window attention is full attention, so the context is
 * capped there and every answer is exact. Qwen2-style `use_sliding_window: false` is full attention.
 */
function slidingWindow(config: JsonObject, name: string): number | null {
  if (config.use_sliding_window === false) return null;
  const window = positiveInt(config.sliding_window);
  const positions = positiveInt(config.max_position_embeddings);
  if (window === undefined || (positions !== undefined && window >= positions)) return null;
  const layerTypes = Array.isArray(config.layer_types) ? config.layer_types : [];
  const interleaved =
    layerTypes.some((type) => type !== layerTypes[0]) ||
    config.sliding_window_pattern !== undefined ||
    (typeof config.model_type === 'string' && /^gemma[23]/.test(config.model_type));
  if (interleaved) {
    throw new RunnerError(
      'model_load_failed',
      `${name} uses Gemma-style sliding-window attention (sliding_window: ${window} in config.json, interleaved with global layers), which Lodge does not run: past ${window} tokens its answers could differ from the model's.`,
    );
  }
  return window;
}

/** The KV cache layout from config.json, checked against the graph's past inputs. */
function kvLayout(config: JsonObject, session: Session, feeds: GraphFeeds): KvLayout {
  const pastInputs = session.inputs.filter((input) => /^past_key_values\.\d+\.key$/.test(input.name));
  if (pastInputs.length === 0) {
    throw new RunnerError(
      'model_load_failed',
      'This language model was exported without a KV cache (no past_key_values inputs); re-export it with one.',
    );
  }
  const heads = positiveInt(config.num_attention_heads);
  const hidden = positiveInt(config.hidden_size);
  const first = pastInputs[0];
  const shapeHeads = typeof first?.shape[1] === 'number' ? first.shape[1] : undefined;
  const shapeDim = typeof first?.shape[3] === 'number' ? first.shape[3] : undefined;
  // The graph's own fixed dimensions win over config.json: they are what the session checks.
  const kvHeads = shapeHeads ?? positiveInt(config.num_key_value_heads) ?? heads;
  const headDim = shapeDim ?? positiveInt(config.head_dim) ?? (heads && hidden ? hidden / heads : undefined);
  if (kvHeads === undefined || headDim === undefined) {
    throw new RunnerError(
      'model_load_failed',
      'config.json does not say how many key/value heads the model has or their size.',
    );
  }
  return {
    layers: pastInputs.length,
    kvHeads,
    headDim,
    type: feeds.kv,
  };
}
