import { basename } from 'node:path';
import { visionFamilyRefusal } from '../../../shared/vision-families';
import { positiveInt, readJson, tokenIds, type JsonObject } from '../model/model-files';
import {
  openSession,
  tensor,
  type OpenedSession,
  type OpenOptions,
  type OrtTensor,
  type Session,
} from '../onnx/session';
import { ortErrorText } from '../onnx/ort-errors';
import { RunnerError } from '../runner-error';
import { ChatTemplate } from '../text/chat-template';
import { TextTokenizer } from '../text/tokenizer';
import { commonPrefix, KvCache, type KvLayout } from '../llm/kv-cache';
import { readImageConfig, type ImageConfig } from './image-config';
import type { ProcessedImage } from './image-processor';
import {
  checkDecoder,
  checkEmbedTokens,
  checkVisionEncoder,
  visionGraphFiles,
  type DecoderFeeds,
  type EncoderFeeds,
} from './vision-graphs';
import { floatTensor, floatValues, lastValues, type FloatType } from './half-precision';

/** Prompt positions per prefill run: bounds memory and lets a cancel land between chunks. */
const PREFILL_CHUNK = 512;
/** Without a logits-to-keep input, a chunk returns logits for every position: cap their size. */
const MAX_LOGITS_FLOATS = 16 * 1024 * 1024;

/**
 * A vision-language model in the Idefics3 / SmolVLM export layout: the vision encoder turns image
 * tiles into features, the token embedding graph turns ids into embeddings, the features replace
 * the embeddings of the `<image>` tokens, and the merged decoder runs on the embeddings with a
 * KV cache. One sequence at a time; its cache is kept for the next request's common prefix.
 * Each float tensor is fed and read in the type its graph declares (float32, or float16 in the
 * fp16 and q4f16 variants); the loop itself computes in float32.
 */
export class VisionLanguageModel {
  readonly cache: KvCache;
  #busy = false;

  private constructor(
    private readonly vision: Session,
    private readonly embedder: Session,
    private readonly decoder: Session,
    private readonly feeds: DecoderFeeds & EncoderFeeds,
    readonly tokenizer: TextTokenizer,
    readonly template: ChatTemplate | null,
    readonly images: ImageConfig,
    readonly imageTokenId: number,
    readonly eosIds: ReadonlySet<number>,
    readonly contextLength: number,
    readonly hidden: number,
    readonly layout: KvLayout,
  ) {
    this.cache = new KvCache(layout);
  }

  /**
   * Opens the model in `dir` whose chosen decoder is `modelFile`, with its sibling graphs. A family
   * Lodge does not run, or a graph it cannot feed, is refused with `model_load_failed` naming `name`.
   */
  static async open(
    dir: string,
    modelFile: string,
    options: OpenOptions,
    name = basename(dir),
  ): Promise<{ model: VisionLanguageModel; opened: OpenedSession }> {
    const config = readJson(dir, 'config.json', true);
    const refusal = visionFamilyRefusal(typeof config.model_type === 'string' ? config.model_type : null);
    if (refusal !== null) throw new RunnerError('model_load_failed', `${name} ${refusal}.`);
    const text = object(config.text_config);
    const generation = readJson(dir, 'generation_config.json');
    const files = visionGraphFiles(modelFile, name);
    const images = readImageConfig(dir, name, config);
    const tokenizer = TextTokenizer.load(dir);
    const imageTokenId = positiveInt(config.image_token_id) ?? tokenizer.idOf('<image>');
    if (imageTokenId === undefined || tokenizer.idOf('<image>') !== imageTokenId) {
      throw new RunnerError(
        'model_load_failed',
        `${name} cannot be loaded: its tokenizer has no <image> token matching config.json's image_token_id.`,
      );
    }
    const opened: OpenedSession[] = [];
    try {
      for (const file of [files.visionEncoder, files.embedTokens, files.decoder])
        opened.push(await openSession(file, options));
      const [vision, embedder, decoder] = opened.map((item) => item.session) as [Session, Session, Session];
      const pixel = checkVisionEncoder(vision, name);
      checkEmbedTokens(embedder, name);
      const feeds = { ...checkDecoder(decoder, name), ...pixel };
      const layout = kvLayout(text, decoder, feeds.kv, name);
      const eos = new Set([...tokenIds(generation.eos_token_id), ...tokenIds(config.eos_token_id)]);
      const eosText = tokenizer.special('eos_token');
      const eosId = eosText === null ? undefined : tokenizer.idOf(eosText);
      if (eosId !== undefined) eos.add(eosId);
      const hidden = positiveInt(text.hidden_size);
      if (hidden === undefined)
        throw new RunnerError(
          'model_load_failed',
          `${name} cannot be loaded: config.json's text_config has no hidden_size.`,
        );
      const model = new VisionLanguageModel(
        vision,
        embedder,
        decoder,
        feeds,
        tokenizer,
        ChatTemplate.forModel(dir, tokenizer),
        images,
        imageTokenId,
        eos,
        positiveInt(text.max_position_embeddings) ?? positiveInt(tokenizer.config.model_max_length) ?? 2048,
        hidden,
        layout,
      );
      await model.#check(name);
      return { model, opened: opened[2] as OpenedSession };
    } catch (error) {
      await Promise.all(opened.map((item) => item.session.release()));
      throw error;
    }
  }

  /** The embeddings of `ids` with the image tokens' rows replaced by the images' features, in order. */
  async embeddings(
    ids: readonly number[],
    images: readonly ProcessedImage[],
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const out = await this.#run(
      this.embedder,
      { input_ids: tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) },
      'inputs_embeds',
    );
    const embeds = new Float32Array(out);
    let position = 0;
    const next = (): number => {
      while (position < ids.length && ids[position] !== this.imageTokenId) position++;
      return position++;
    };
    for (const image of images) {
      if (signal?.aborted) throw new RunnerError('cancelled', 'The request was cancelled.');
      const features = await this.#encode(image);
      for (let row = 0; row < features.length / this.hidden; row++) {
        const at = next();
        if (at >= ids.length)
          throw new RunnerError(
            'internal',
            'The prompt has fewer image tokens than the images have features.',
          );
        embeds.set(features.subarray(row * this.hidden, (row + 1) * this.hidden), at * this.hidden);
      }
    }
    return embeds;
  }

  /**
   * Brings the cache to `ids` (whose embeddings are `embeds`) and returns the logits that follow.
   * The cached prefix is reused only up to the first image token: the same `<image>` ids may
   * stand for another picture.
   */
  async prefill(
    ids: readonly number[],
    embeds: Float32Array,
    signal?: AbortSignal,
  ): Promise<{ logits: Float32Array; reused: number }> {
    const firstImage = ids.indexOf(this.imageTokenId);
    const limit = Math.min(ids.length - 1, firstImage === -1 ? Infinity : firstImage);
    const reused = Math.min(commonPrefix(this.cache.tokens, ids), limit);
    await this.cache.truncate(reused);
    const vocab = this.decoder.outputs.find((output) => output.name === 'logits')?.shape.at(-1);
    const width = typeof vocab === 'number' ? vocab : 65_536;
    const chunk =
      this.feeds.keep !== null
        ? PREFILL_CHUNK
        : Math.max(1, Math.min(PREFILL_CHUNK, Math.floor(MAX_LOGITS_FLOATS / width)));
    let logits: Float32Array | null = null;
    for (let start = reused; start < ids.length; start += chunk) {
      if (signal?.aborted) throw new RunnerError('cancelled', 'The request was cancelled.');
      const end = Math.min(ids.length, start + chunk);
      logits = await this.#decode(
        this.cache,
        ids.slice(start, end),
        embeds.subarray(start * this.hidden, end * this.hidden),
      );
    }
    return { logits: logits as Float32Array, reused };
  }

  /** Feeds one generated token after the cache and returns the logits that follow it. */
  async step(token: number): Promise<Float32Array> {
    const embeds = await this.embeddings([token], []);
    return this.#decode(this.cache, [token], embeds);
  }

  /** Marks the model busy for one sequence (one at a time: they share the KV cache). */
  acquire(): () => void {
    if (this.#busy)
      throw new RunnerError('internal', 'The model is already generating; requests must be queued.');
    this.#busy = true;
    return () => {
      this.#busy = false;
    };
  }

  /** Frees the three sessions. */
  async release(): Promise<void> {
    await Promise.all([this.vision.release(), this.embedder.release(), this.decoder.release()]);
  }

  /** The features of one image's tiles, [tiles × tokens, hidden] flattened. */
  async #encode(image: ProcessedImage): Promise<Float32Array> {
    const { tile } = this.images;
    const count = image.tiles.length;
    const pixels = new Float32Array(count * 3 * tile * tile);
    image.tiles.forEach((data, index) => pixels.set(data, index * data.length));
    const feeds: Record<string, OrtTensor> = {
      pixel_values: floatTensor(this.feeds.pixels, pixels, [1, count, 3, tile, tile]),
    };
    if (this.feeds.pixelMask)
      feeds.pixel_attention_mask = tensor('bool', new Uint8Array(count * tile * tile).fill(1), [
        1,
        count,
        tile,
        tile,
      ]);
    const features = await this.#run(this.vision, feeds, 'image_features');
    if (features.length !== count * this.images.sequenceLength * this.hidden) {
      throw new RunnerError(
        'internal',
        `The vision encoder returned ${features.length / this.hidden} feature rows for ${count} tiles of ${this.images.sequenceLength} tokens.`,
      );
    }
    return features;
  }

  /**
   * The load check: a mid-grey image and a short prompt through all three graphs, then one cached
   * step. The features and logits must be finite and the logits not all equal, or the model is
   * refused, so it never answers garbage.
   */
  async #check(name: string): Promise<void> {
    const { tile, sequenceLength } = this.images;
    const image = { tiles: [new Float32Array(3 * tile * tile)], rows: 0, cols: 0 };
    const ids = [...this.tokenizer.encode('Hello'), ...Array<number>(sequenceLength).fill(this.imageTokenId)];
    const scratch = new KvCache(this.layout);
    const problem = (values: Float32Array, what: string): string | null => {
      let min = Infinity;
      let max = -Infinity;
      for (const value of values) {
        if (!Number.isFinite(value))
          return `its ${what} are not finite (${value}): the weights or the export are broken`;
        min = Math.min(min, value);
        max = Math.max(max, value);
      }
      if (what === 'logits' && max === min)
        return `its logits are all equal (${max}): the model computes nothing from its input`;
      return null;
    };
    let found: string | null;
    try {
      const features = await this.#encode(image);
      found = problem(features, 'image features');
      if (found === null) {
        const embeds = await this.embeddings(ids, [image]);
        const first = await this.#decode(scratch, ids, embeds);
        found = problem(first, 'logits');
        if (found === null) {
          const next = first.indexOf(Math.max(...first));
          found = problem(await this.#decode(scratch, [next], await this.embeddings([next], [])), 'logits');
        }
      }
    } catch (error) {
      found = `a test prompt failed to run (${(error as Error).message})`;
    } finally {
      scratch.clear();
    }
    if (found !== null)
      throw new RunnerError(
        'model_load_failed',
        `${name} failed its load check and was not loaded: on a test image and prompt, ${found}.`,
      );
  }

  async #decode(cache: KvCache, ids: readonly number[], embeds: Float32Array): Promise<Float32Array> {
    const past = cache.tokens.length;
    const total = past + ids.length;
    const feeds: Record<string, OrtTensor> = {
      inputs_embeds: floatTensor(this.feeds.embeds, embeds, [1, ids.length, this.hidden]),
    };
    if (this.feeds.mask)
      feeds.attention_mask = tensor('int64', new BigInt64Array(total).fill(1n), [1, total]);
    if (this.feeds.positions)
      feeds.position_ids = tensor(
        'int64',
        BigInt64Array.from({ length: ids.length }, (_, index) => BigInt(past + index)),
        [1, ids.length],
      );
    if (this.feeds.keep !== null) feeds[this.feeds.keep] = tensor('int64', BigInt64Array.of(1n), []);
    if (this.feeds.cacheBranch) feeds.use_cache_branch = tensor('bool', Uint8Array.of(past > 0 ? 1 : 0), [1]);
    for (const [name, value] of cache.past) feeds[name] = value;
    let outputs: Record<string, OrtTensor>;
    try {
      outputs = await this.decoder.run(feeds);
    } catch (error) {
      cache.clear();
      throw new RunnerError('internal', `Inference failed: ${ortErrorText(error)}`);
    }
    cache.advance(outputs, ids);
    const logits = outputs.logits as OrtTensor;
    return lastValues(logits, logits.dims.at(-1) ?? logits.size);
  }

  async #run(session: Session, feeds: Record<string, OrtTensor>, output: string): Promise<Float32Array> {
    try {
      const outputs = await session.run(feeds, [output]);
      return floatValues(outputs[output] as OrtTensor);
    } catch (error) {
      throw new RunnerError('internal', `Inference failed: ${ortErrorText(error)}`);
    }
  }
}

function object(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}

/** The KV cache layout from text_config, checked against the decoder's past inputs. */
function kvLayout(text: JsonObject, session: Session, type: FloatType, name: string): KvLayout {
  const past = session.inputs.filter((input) => /^past_key_values\.\d+\.key$/.test(input.name));
  if (past.length === 0)
    throw new RunnerError(
      'model_load_failed',
      `${name} cannot be loaded: its decoder has no past_key_values inputs (no KV cache).`,
    );
  const heads = positiveInt(text.num_attention_heads);
  const hidden = positiveInt(text.hidden_size);
  const first = past[0];
  const kvHeads =
    (typeof first?.shape[1] === 'number' ? first.shape[1] : undefined) ??
    positiveInt(text.num_key_value_heads) ??
    heads;
  const headDim =
    (typeof first?.shape[3] === 'number' ? first.shape[3] : undefined) ??
    positiveInt(text.head_dim) ??
    (heads && hidden ? hidden / heads : undefined);
  if (kvHeads === undefined || headDim === undefined)
    throw new RunnerError(
      'model_load_failed',
      `${name} cannot be loaded: config.json's text_config does not give its key/value heads.`,
    );
  return { layers: past.length, kvHeads, headDim, type };
}
