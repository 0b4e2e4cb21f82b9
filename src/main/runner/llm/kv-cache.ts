import { tensor, type OrtTensor } from '../onnx/session';

/** The shape of a model's key/value cache, read from config.json and the graph. */
export interface KvLayout {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly type: 'float32' | 'float16';
}

/**
 * The keys and values of the tokens a runner has processed, kept after a request so the next one
 * can reuse the longest common prefix (the next chat turn pays only for its new tokens).
 * Invariant: `tokens.length` equals the past length of every tensor in `past`.
 */
export class KvCache {
  #tokens: number[] = [];
  #past: Map<string, OrtTensor>;
  /** Its tensors belong to another cache too (a copy not yet truncated): never freed from here. */
  #shared = false;

  constructor(private readonly layout: KvLayout) {
    this.#past = emptyPast(layout);
  }

  /** A cache over `past` (`[1, kvHeads, tokens.length, headDim]` tensors by input name), as it is. */
  static adopt(layout: KvLayout, tokens: readonly number[], past: Map<string, OrtTensor>): KvCache {
    const cache = new KvCache(layout);
    cache.#past = past;
    cache.#tokens = [...tokens];
    return cache;
  }

  /** The bytes its keys and values take. */
  get bytes(): number {
    return kvBytes(this.layout, this.#tokens.length);
  }

  /**
   * A new cache holding a copy of the first `length` tokens' keys and values; this one is left as
   * it is (two sequences that share a system prompt each start from it).
   */
  async copyPrefix(length: number): Promise<KvCache> {
    const copy = KvCache.adopt(this.layout, this.#tokens, new Map(this.#past));
    copy.#shared = true;
    await copy.truncate(length);
    return copy;
  }

  /** The tokens whose keys and values are held. */
  get tokens(): readonly number[] {
    return this.#tokens;
  }

  /** The past tensors, by input name (`past_key_values.{i}.key|value`). */
  get past(): ReadonlyMap<string, OrtTensor> {
    return this.#past;
  }

  /**
   * Adopts a run's `present.*` outputs as the new past after feeding `fed` tokens. Presents kept on
   * the GPU (WebGPU's `gpu-buffer` outputs) stay there; the past they replace is freed.
   */
  advance(presents: Record<string, OrtTensor>, fed: readonly number[]): void {
    const next = new Map<string, OrtTensor>();
    for (let layer = 0; layer < this.layout.layers; layer++) {
      for (const part of ['key', 'value'] as const) {
        const present = presents[`present.${layer}.${part}`];
        if (!present) throw new Error(`The model did not return present.${layer}.${part}.`);
        next.set(`past_key_values.${layer}.${part}`, asFeedable(present));
      }
    }
    if (!this.#shared) disposeOnDevice(this.#past);
    this.#shared = false;
    this.#past = next;
    this.#tokens.push(...fed);
  }

  /**
   * Keeps only the first `length` tokens' keys and values (copying those rows out; a past held on
   * the GPU is read back once for it, and the kept rows are fed from the CPU on the next run).
   */
  async truncate(length: number): Promise<void> {
    if (length >= this.#tokens.length && !this.#shared) return;
    length = Math.min(length, this.#tokens.length);
    if (length === 0) {
      this.clear();
      return;
    }
    const { kvHeads, headDim } = this.layout;
    const total = this.#tokens.length;
    const next = new Map<string, OrtTensor>();
    for (const [name, past] of this.#past) {
      // getData(true) downloads a GPU buffer and frees it; CPU data is returned as it is.
      const source = (
        past.location === 'cpu' || this.#shared ? await cpuData(past) : await past.getData(true)
      ) as Float32Array | Uint16Array;
      const target = new (source.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(
        kvHeads * length * headDim,
      );
      for (let head = 0; head < kvHeads; head++) {
        target.set(
          source.subarray(head * total * headDim, (head * total + length) * headDim),
          head * length * headDim,
        );
      }
      next.set(name, tensor(this.layout.type, target, [1, kvHeads, length, headDim]));
    }
    this.#past = next;
    this.#shared = false;
    this.#tokens = this.#tokens.slice(0, length);
  }

  /** Forgets everything (a failed run may have left the cache half-advanced), freeing GPU buffers. */
  clear(): void {
    if (!this.#shared) disposeOnDevice(this.#past);
    this.#shared = false;
    this.#tokens = [];
    this.#past = emptyPast(this.layout);
  }
}

/** The bytes of `tokens` tokens' keys and values in `layout`. */
export function kvBytes(layout: KvLayout, tokens: number): number {
  return tokens * layout.layers * 2 * layout.kvHeads * layout.headDim * (layout.type === 'float16' ? 2 : 4);
}

/** A tensor's data on the CPU: as it is, or downloaded from the GPU without freeing the buffer. */
async function cpuData(past: OrtTensor): Promise<OrtTensor['data']> {
  return past.location === 'cpu' ? past.data : past.getData(false);
}

/** Frees the past tensors held in GPU buffers; CPU tensors are the garbage collector's. */
function disposeOnDevice(past: ReadonlyMap<string, OrtTensor>): void {
  for (const tensor of past.values()) if (tensor.location !== 'cpu') tensor.dispose();
}

function emptyPast(layout: KvLayout): Map<string, OrtTensor> {
  const past = new Map<string, OrtTensor>();
  const empty = layout.type === 'float16' ? new Uint16Array(0) : new Float32Array(0);
  for (let layer = 0; layer < layout.layers; layer++) {
    for (const part of ['key', 'value']) {
      past.set(
        `past_key_values.${layer}.${part}`,
        tensor(layout.type, empty, [1, layout.kvHeads, 0, layout.headDim]),
      );
    }
  }
  return past;
}

/** NOTE: where the runtime has Float16Array, fp16 outputs must be re-viewed as Uint16Array to feed back. */
export function asFeedable(present: OrtTensor): OrtTensor {
  // A tensor on the GPU is fed back as it is: its data is never read on the CPU.
  if (present.location !== 'cpu' || present.type !== 'float16' || present.data instanceof Uint16Array)
    return present;
  const data: unknown = present.data;
  if (!ArrayBuffer.isView(data)) return present;
  return tensor('float16', new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2), present.dims);
}

/** Length of the longest common prefix of two token sequences. */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const limit = Math.min(a.length, b.length);
  let length = 0;
  while (length < limit && a[length] === b[length]) length++;
  return length;
}
