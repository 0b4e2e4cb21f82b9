import type { EmbedRequest, EmbedResult } from '../../../shared/engine';
import { positiveInt, readJson } from '../model/model-files';
import { halfBits, halfToFloat32 } from '../onnx/float16';
import {
  openSession,
  tensor,
  type OpenedSession,
  type OpenOptions,
  type OrtTensor,
  type Session,
} from '../onnx/session';
import { RunnerError } from '../runner-error';
import { TextTokenizer } from '../text/tokenizer';
import { sentenceTransformersRecipe, type Pooling } from './pooling-config';

/** Inputs per session run: bounds memory for large batches. */
const BATCH = 32;

/** Outputs of token states, by the names exports give them. */
const TOKEN_OUTPUTS = ['last_hidden_state', 'token_embeddings'];

/**
 * A sentence-embedding model: tokenizes with the model's special tokens, pools the encoder's token
 * states as its `1_Pooling/config.json` asks (mean over the attention mask, CLS, last token, max)
 * and L2-normalizes where its `modules.json` has a Normalize module: the sentence-transformers
 * recipe. A graph that already pools (`sentence_embedding`) is used as it is.
 */
export class Embedder {
  readonly #ids: 'int64' | 'int32';
  readonly #output: string;

  private constructor(
    private readonly session: Session,
    private readonly tokenizer: TextTokenizer,
    private readonly pooling: Pooling,
    private readonly normalizes: boolean,
    readonly maxLength: number,
    readonly dimensions: number,
    private readonly padId: number,
  ) {
    const ids = session.inputs.find((input) => input.name === 'input_ids');
    this.#ids = ids?.type === 'int32' ? 'int32' : 'int64';
    this.#output =
      TOKEN_OUTPUTS.find((name) => session.outputs.some((output) => output.name === name)) ??
      'sentence_embedding';
  }

  /** Opens the embedding model in `dir` from `modelFile`. */
  static async open(
    dir: string,
    modelFile: string,
    options: OpenOptions,
  ): Promise<{ embedder: Embedder; opened: OpenedSession }> {
    const config = readJson(dir, 'config.json');
    const recipe = sentenceTransformersRecipe(dir);
    const tokenizer = TextTokenizer.load(dir);
    const opened = await openSession(modelFile, options);
    const { session } = opened;
    const names = [...TOKEN_OUTPUTS, 'sentence_embedding'];
    const output = session.outputs.find((candidate) => names.includes(candidate.name));
    const readable = output !== undefined && (output.type === 'float32' || output.type === 'float16');
    if (!session.hasInput('input_ids') || !readable) {
      await session.release();
      throw new RunnerError(
        'model_load_failed',
        output === undefined
          ? 'This ONNX graph is not an embedding model: it needs input_ids and a last_hidden_state (or token_embeddings, or sentence_embedding) output.'
          : `This embedding model's ${output.name} output is ${output.type}; Lodge reads float32 or float16.`,
      );
    }
    const limit = Math.min(
      positiveInt(config.max_position_embeddings) ?? 512,
      positiveInt(tokenizer.config.model_max_length) ?? Infinity,
    );
    const padText = tokenizer.special('pad_token');
    const padId =
      (padText === null ? undefined : tokenizer.idOf(padText)) ??
      (typeof config.pad_token_id === 'number' ? config.pad_token_id : 0);
    const embedder = new Embedder(
      session,
      tokenizer,
      recipe.pooling,
      recipe.normalize,
      limit,
      positiveInt(config.hidden_size) ?? 0,
      padId,
    );
    return { embedder, opened };
  }

  /** Embeds every input; an input longer than the model's maximum is cut or refused, as asked. */
  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    const encoded = request.inputs.map((text, index) => {
      const { ids, typeIds } = this.tokenizer.encodeForEncoder(text);
      if (ids.length <= this.maxLength) return { ids, typeIds };
      if (!request.truncate) {
        throw new RunnerError(
          'invalid_request',
          `Input ${index} is ${ids.length} tokens; this model takes at most ${this.maxLength}. Allow truncation or shorten it.`,
        );
      }
      // Keep the closing special token (SEP) when cutting, as tokenizers' truncation does.
      return {
        ids: [...ids.slice(0, this.maxLength - 1), ids.at(-1) as number],
        typeIds: typeIds.slice(0, this.maxLength),
      };
    });
    const embeddings: Float32Array[] = [];
    for (let start = 0; start < encoded.length; start += BATCH) {
      if (signal.aborted) throw new RunnerError('cancelled', 'The request was cancelled.');
      embeddings.push(
        ...(await this.#batch(encoded.slice(start, start + BATCH), request.normalize ?? this.normalizes)),
      );
    }
    return { embeddings, promptTokens: encoded.reduce((sum, item) => sum + item.ids.length, 0) };
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  async #batch(
    items: readonly { ids: number[]; typeIds: number[] }[],
    unitLength: boolean,
  ): Promise<Float32Array[]> {
    const width = Math.max(...items.map((item) => item.ids.length));
    const cells = items.length * width;
    const int32 = this.#ids === 'int32';
    const ids = int32
      ? new Int32Array(cells).fill(this.padId)
      : new BigInt64Array(cells).fill(BigInt(this.padId));
    const mask = int32 ? new Int32Array(cells) : new BigInt64Array(cells);
    const types = int32 ? new Int32Array(cells) : new BigInt64Array(cells);
    const set = (array: Int32Array | BigInt64Array, index: number, value: number) => {
      if (array instanceof Int32Array) array[index] = value;
      else array[index] = BigInt(value);
    };
    items.forEach((item, row) => {
      item.ids.forEach((id, column) => {
        set(ids, row * width + column, id);
        set(mask, row * width + column, 1);
        set(types, row * width + column, item.typeIds[column] ?? 0);
      });
    });
    const dims = [items.length, width];
    const type = int32 ? 'int32' : 'int64';
    // Only what the graph declares is fed: many encoders have no token_type_ids input.
    const feeds: Record<string, OrtTensor> = { input_ids: tensor(type, ids, dims) };
    if (this.session.hasInput('attention_mask')) feeds.attention_mask = tensor(type, mask, dims);
    if (this.session.hasInput('token_type_ids')) feeds.token_type_ids = tensor(type, types, dims);
    const output = (await this.session.run(feeds, [this.#output]))[this.#output] as OrtTensor;
    const states =
      output.type === 'float16'
        ? halfToFloat32(halfBits(output.data as Uint16Array))
        : (output.data as Float32Array);
    const hidden = output.dims.at(-1) ?? 0;
    return items.map((item, row) => {
      const vector =
        this.#output === 'sentence_embedding'
          ? states.slice(row * hidden, (row + 1) * hidden)
          : pool(
              states.subarray(row * width * hidden, (row + 1) * width * hidden),
              item.ids.length,
              hidden,
              this.pooling,
            );
      return unitLength ? normalize(vector) : vector;
    });
  }
}

/** Pools the first `length` rows of one input's token states (`hidden` wide). */
function pool(states: Float32Array, length: number, hidden: number, pooling: Pooling): Float32Array {
  if (pooling === 'cls') return states.slice(0, hidden);
  if (pooling === 'lasttoken') return states.slice((length - 1) * hidden, length * hidden);
  const vector = new Float32Array(hidden).fill(pooling === 'max' ? -Infinity : 0);
  for (let column = 0; column < length; column++) {
    const offset = column * hidden;
    for (let d = 0; d < hidden; d++) {
      const value = states[offset + d] as number;
      vector[d] = pooling === 'max' ? Math.max(vector[d] as number, value) : (vector[d] as number) + value;
    }
  }
  if (pooling === 'max') return vector;
  const divisor = pooling === 'mean_sqrt_len' ? Math.sqrt(length) : length;
  for (let d = 0; d < hidden; d++) vector[d] = (vector[d] as number) / divisor;
  return vector;
}

/** Scales `vector` to unit length in place (a zero vector stays zero). */
export function normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  if (norm > 0)
    for (let index = 0; index < vector.length; index++) vector[index] = (vector[index] as number) / norm;
  return vector;
}
