import { join } from 'node:path';
import type { EmbedRequest, EmbedResult } from '../../../shared/engine';
import { positiveInt, readJson } from '../model/model-files';
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

/** Inputs per session run: bounds memory for large batches. */
const BATCH = 32;

/**
 * A sentence-embedding model: tokenizes with the model's special tokens, pools the encoder's
 * `last_hidden_state` (mean over the attention mask, or CLS where the model's pooling config says
 * so), and L2-normalizes, the sentence-transformers recipe.
 */
export class Embedder {
  private constructor(
    private readonly session: Session,
    private readonly tokenizer: TextTokenizer,
    private readonly pooling: 'mean' | 'cls',
    readonly maxLength: number,
    readonly dimensions: number,
    private readonly padId: number,
  ) {}

  /** Opens the embedding model in `dir` from `modelFile`. */
  static async open(
    dir: string,
    modelFile: string,
    options: OpenOptions,
  ): Promise<{ embedder: Embedder; opened: OpenedSession }> {
    const config = readJson(dir, 'config.json');
    const pooling = readJson(join(dir, '1_Pooling'), 'config.json');
    const tokenizer = TextTokenizer.load(dir);
    const opened = await openSession(modelFile, options);
    const { session } = opened;
    if (
      !session.hasInput('input_ids') ||
      !session.outputs.some((output) => output.name === 'last_hidden_state')
    ) {
      await session.release();
      throw new RunnerError(
        'model_load_failed',
        'This ONNX graph is not an embedding model: it needs input_ids and a last_hidden_state output.',
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
      pooling.pooling_mode_cls_token === true ? 'cls' : 'mean',
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
        ...(await this.#batch(encoded.slice(start, start + BATCH), request.normalize !== false)),
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
    const ids = new BigInt64Array(items.length * width).fill(BigInt(this.padId));
    const mask = new BigInt64Array(items.length * width);
    const types = new BigInt64Array(items.length * width);
    items.forEach((item, row) => {
      item.ids.forEach((id, column) => {
        ids[row * width + column] = BigInt(id);
        mask[row * width + column] = 1n;
        types[row * width + column] = BigInt(item.typeIds[column] ?? 0);
      });
    });
    const dims = [items.length, width];
    const feeds: Record<string, OrtTensor> = { input_ids: tensor('int64', ids, dims) };
    if (this.session.hasInput('attention_mask')) feeds.attention_mask = tensor('int64', mask, dims);
    if (this.session.hasInput('token_type_ids')) feeds.token_type_ids = tensor('int64', types, dims);
    const output = (await this.session.run(feeds, ['last_hidden_state'])).last_hidden_state as OrtTensor;
    const hidden = output.dims[2] ?? 0;
    const states = output.data as Float32Array;
    return items.map((item, row) => {
      const vector = new Float32Array(hidden);
      const base = row * width * hidden;
      if (this.pooling === 'cls') vector.set(states.subarray(base, base + hidden));
      else {
        for (let column = 0; column < item.ids.length; column++) {
          const offset = base + column * hidden;
          for (let d = 0; d < hidden; d++) vector[d] = (vector[d] as number) + (states[offset + d] as number);
        }
        for (let d = 0; d < hidden; d++) vector[d] = (vector[d] as number) / item.ids.length;
      }
      return unitLength ? normalize(vector) : vector;
    });
  }
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
