import { readJson, positiveInt, tokenIds, type JsonObject } from '../model/model-files';
import {
  openSession,
  tensor,
  type OpenedSession,
  type OpenOptions,
  type OrtTensor,
  type Session,
} from '../onnx/session';
import { RunnerError } from '../runner-error';
import { ChatTemplate } from '../text/chat-template';
import { TextTokenizer } from '../text/tokenizer';
import { commonPrefix, KvCache, type KvLayout } from './kv-cache';

/** Prompt tokens per prefill run: bounds memory and lets a cancel land between chunks. */
const PREFILL_CHUNK = 512;
/** Without `num_logits_to_keep`, each prefill chunk returns logits for every position: cap their size. */
const MAX_LOGITS_FLOATS = 16 * 1024 * 1024;

/**
 * A decoder-only language model on one onnxruntime session: its tokenizer, chat template, special
 * tokens, and the KV cache of the last sequence it processed. Reads the graph's input names and
 * feeds what it declares (position ids, logits-to-keep, the merged-decoder cache switch).
 */
export class LanguageModel {
  readonly cache: KvCache;
  readonly #keepInput: string | null;
  readonly #hasPositionIds: boolean;
  readonly #hasCacheBranch: boolean;
  readonly #fetches: string[];
  #ones: BigInt64Array;
  #busy = false;

  private constructor(
    private readonly session: Session,
    readonly tokenizer: TextTokenizer,
    readonly template: ChatTemplate | null,
    readonly layout: KvLayout,
    readonly eosIds: ReadonlySet<number>,
    readonly contextLength: number,
    readonly vocabSize: number,
  ) {
    this.cache = new KvCache(layout);
    this.#keepInput = ['num_logits_to_keep', 'logits_to_keep'].find((name) => session.hasInput(name)) ?? null;
    this.#hasPositionIds = session.hasInput('position_ids');
    this.#hasCacheBranch = session.hasInput('use_cache_branch');
    this.#fetches = ['logits'];
    for (let layer = 0; layer < layout.layers; layer++)
      this.#fetches.push(`present.${layer}.key`, `present.${layer}.value`);
    this.#ones = new BigInt64Array(Math.min(contextLength, 4096)).fill(1n);
  }

  /** Opens the model in `dir` from its ONNX file `modelFile`. */
  static async open(
    dir: string,
    modelFile: string,
    options: OpenOptions,
  ): Promise<{ model: LanguageModel; opened: OpenedSession }> {
    const config = readJson(dir, 'config.json', true);
    const generation = readJson(dir, 'generation_config.json');
    const tokenizer = TextTokenizer.load(dir);
    const opened = await openSession(modelFile, options);
    try {
      const layout = kvLayout(config, opened.session);
      const eos = new Set([...tokenIds(generation.eos_token_id), ...tokenIds(config.eos_token_id)]);
      const eosText = tokenizer.special('eos_token');
      const eosId = eosText === null ? undefined : tokenizer.idOf(eosText);
      if (eosId !== undefined) eos.add(eosId);
      const maxLength = positiveInt(tokenizer.config.model_max_length);
      const contextLength =
        positiveInt(config.max_position_embeddings) ??
        (maxLength !== undefined && maxLength < 10_000_000 ? maxLength : 2048);
      const vocab = positiveInt(config.vocab_size) ?? 0;
      const model = new LanguageModel(
        opened.session,
        tokenizer,
        ChatTemplate.fromTokenizer(tokenizer),
        layout,
        eos,
        contextLength,
        vocab,
      );
      return { model, opened };
    } catch (error) {
      await opened.session.release();
      throw error;
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
    this.cache.truncate(reused);
    const chunk =
      this.#keepInput !== null
        ? PREFILL_CHUNK
        : Math.max(1, Math.min(PREFILL_CHUNK, Math.floor(MAX_LOGITS_FLOATS / Math.max(1, this.vocabSize))));
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
    const rows: Float32Array[] = [];
    for (let row = 0; row < tokens.length; row++)
      rows.push(flat.subarray(row * this.vocabSize, (row + 1) * this.vocabSize));
    return rows;
  }

  /**
   * Marks the model busy for one sequence. Invariant: one sequence at a time per model, since
   * they share the KV cache; the scheduler queues requests, and this catches any that slip past.
   */
  acquire(): () => void {
    if (this.#busy)
      throw new RunnerError('internal', 'The model is already generating; requests must be queued.');
    this.#busy = true;
    return () => {
      this.#busy = false;
    };
  }

  /** Frees the session. */
  async release(): Promise<void> {
    await this.session.release();
  }

  async #run(
    cache: KvCache,
    tokens: readonly number[],
    keepAll: boolean,
    returnAll = false,
  ): Promise<Float32Array> {
    const past = cache.tokens.length;
    const total = past + tokens.length;
    const feeds: Record<string, OrtTensor> = {
      input_ids: tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]),
      attention_mask: tensor('int64', this.#onesOf(total), [1, total]),
    };
    if (this.#hasPositionIds) {
      feeds.position_ids = tensor(
        'int64',
        BigInt64Array.from(tokens, (_, index) => BigInt(past + index)),
        [1, tokens.length],
      );
    }
    if (this.#keepInput !== null)
      feeds[this.#keepInput] = tensor('int64', BigInt64Array.of(keepAll ? 0n : 1n), []);
    if (this.#hasCacheBranch) feeds.use_cache_branch = tensor('bool', Uint8Array.of(past > 0 ? 1 : 0), [1]);
    for (const [name, value] of cache.past) feeds[name] = value;

    let outputs: Record<string, OrtTensor>;
    try {
      outputs = await this.session.run(feeds, this.#fetches);
    } catch (error) {
      cache.clear();
      throw new RunnerError('internal', `Inference failed: ${(error as Error).message.split('\n')[0]}`);
    }
    cache.advance(outputs, tokens);
    const logits = outputs.logits as OrtTensor;
    const data = logits.data as Float32Array;
    const vocab = logits.dims.at(-1) ?? this.vocabSize;
    if (returnAll) return data;
    return data.subarray(data.length - vocab);
  }

  /** An all-ones attention mask of `length`, viewed from a buffer grown as needed. */
  #onesOf(length: number): BigInt64Array {
    if (length > this.#ones.length)
      this.#ones = new BigInt64Array(Math.max(length, this.#ones.length * 2)).fill(1n);
    return this.#ones.subarray(0, length);
  }
}

/** The KV cache layout from config.json, checked against the graph's past inputs. */
function kvLayout(config: JsonObject, session: Session): KvLayout {
  const pastInputs = session.inputs.filter((input) => /^past_key_values\.\d+\.key$/.test(input.name));
  if (!session.hasInput('input_ids') || !session.outputs.some((output) => output.name === 'logits')) {
    throw new RunnerError(
      'model_load_failed',
      'This ONNX graph is not a language model: it needs an input_ids input and a logits output.',
    );
  }
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
  const kvHeads = positiveInt(config.num_key_value_heads) ?? shapeHeads ?? heads;
  const headDim = positiveInt(config.head_dim) ?? shapeDim ?? (heads && hidden ? hidden / heads : undefined);
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
    type: first?.type === 'float16' ? 'float16' : 'float32',
  };
}
