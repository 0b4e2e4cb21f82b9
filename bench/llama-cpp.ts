// llama.cpp as the peer users compare Lodge with (Ollama and LM Studio run it): node-llama-cpp's
// prebuilt CPU library, offline, on a GGUF file, fed token ids directly (so the prompt is exactly
// Lodge's), greedy, with f32 KV so that an f32 model computes what onnxruntime computes.
//
// The decode loop is node-llama-cpp's own native binding driven the way llama.cpp's examples drive
// llama_decode: one batch for the prompt, then per token one greedy sample and one single-token
// batch, with nothing between them. `sequence.evaluate()` (the 'evaluate' loop, kept to measure the
// difference) adds per token an async generator step, two locks, a dispatch through setImmediate, a
// token meter and a sampler reconfiguration; the bench must time llama.cpp, not that.
import { stat } from 'node:fs/promises';
import {
  getLlama,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';

/** How the tokens are decoded: the binding's native calls, or node-llama-cpp's `evaluate()`. */
export type LlamaLoop = 'native' | 'evaluate';

/** The part of node-llama-cpp's internal context binding the native loop calls. */
interface AddonContext {
  initBatch(size: number): void;
  addToBatch(sequence: number, firstPosition: number, tokens: Uint32Array, logits: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
  sampleToken(logitIndex: number, sampler: AddonSampler): Promise<number>;
  disposeSequence(sequence: number): void;
}

/** node-llama-cpp's internal sampler binding (a llama.cpp sampler chain). */
interface AddonSampler {
  applyConfig(config: { temperature: number }): void;
  dispose(): void;
}

type AddonSamplerClass = new (model: object) => AddonSampler;

function isAddonContext(value: unknown): value is AddonContext {
  return (
    typeof value === 'object' &&
    value !== null &&
    ['initBatch', 'addToBatch', 'decodeBatch', 'sampleToken', 'disposeSequence'].every(
      (name) => typeof Reflect.get(value, name) === 'function',
    )
  );
}

function isSamplerClass(value: unknown): value is AddonSamplerClass {
  return typeof value === 'function';
}

/** A field node-llama-cpp marks internal (its .d.ts omits it), or a clear error if a version renamed it. */
function internal(owner: object, path: readonly string[]): unknown {
  let value: unknown = owner;
  for (const name of path) {
    value = typeof value === 'object' && value !== null ? Reflect.get(value, name) : undefined;
    if (value === undefined) throw new Error(`node-llama-cpp has no ${path.join('.')} (version changed?)`);
  }
  return value;
}

let shared: Promise<Llama> | null = null;

/** The CPU llama.cpp library, loaded once (never built, never downloaded). */
function llama(): Promise<Llama> {
  shared ??= oneWorker().then(() => getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error }));
  return shared;
}

/**
 * Starts libuv's worker pool under the UV_THREADPOOL_SIZE that `npm run bench` gives this process
 * (1), then drops the variable, so that Lodge's runner and server, started later as children, get
 * libuv's default as they do in use. The binding queues every llama_decode on that pool; spread
 * over 4 workers, llama.cpp at 2 threads took 11.7-14.5 ms a token on the mid model, on one worker
 * 2.9-3.7 ms (its 1-thread figure: 3.7-5.2 ms).
 */
async function oneWorker(): Promise<void> {
  const size = process.env.UV_THREADPOOL_SIZE;
  if (size === undefined) return;
  await stat('.'); // the pool starts at its first job and reads the variable then
  delete process.env.UV_THREADPOOL_SIZE;
  if (size !== '1') process.stderr.write(`llama.cpp peer: UV_THREADPOOL_SIZE=${size}, not 1\n`);
}

/** A greedy run: the tokens, when it started, when the first new token came and when the last did. */
export interface LlamaRun {
  readonly tokens: number[];
  readonly started: number;
  readonly first: number;
  readonly ended: number;
}

/** One GGUF model opened in llama.cpp with one context of `contextSize` tokens on `threads` threads. */
export class LlamaCpp {
  private constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly native: AddonContext,
    private readonly sampler: AddonSampler,
  ) {}

  /** Opens `file`; `contextSize` must hold the prompt and every new token. */
  static async open(file: string, threads: number, contextSize = 1024): Promise<LlamaCpp> {
    const library = await llama();
    const model = await library.loadModel({ modelPath: file, gpuLayers: 0 });
    const context = await model.createContext({
      contextSize,
      threads,
      sequences: 1,
      flashAttention: false,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
    });
    const native = internal(context, ['_ctx']);
    const Sampler = internal(library, ['_bindings', 'AddonSampler']);
    const addonModel = internal(model, ['_model']);
    if (
      !isAddonContext(native) ||
      !isSamplerClass(Sampler) ||
      typeof addonModel !== 'object' ||
      addonModel === null
    )
      throw new Error('node-llama-cpp internals changed: the native decode loop cannot run');
    const sampler = new Sampler(addonModel);
    // Temperature 0 makes the chain llama.cpp's greedy sampler alone (an argmax).
    sampler.applyConfig({ temperature: 0 });
    return new LlamaCpp(model, context, native, sampler);
  }

  /** Greedy decoding of `count` new tokens after `prompt` from an empty cache (EOS ignored). */
  greedy(prompt: readonly number[], count: number, loop: LlamaLoop = 'native'): Promise<LlamaRun> {
    return loop === 'native' ? this.nativeGreedy(prompt, count) : this.evaluateGreedy(prompt, count);
  }

  private async nativeGreedy(prompt: readonly number[], count: number): Promise<LlamaRun> {
    const ctx = this.native;
    // Sequence 0 is the context's only one; clearing it gives every run the same empty cache.
    ctx.disposeSequence(0);
    try {
      const tokens: number[] = [];
      const started = performance.now();
      ctx.initBatch(prompt.length);
      let [logit] = ctx.addToBatch(0, 0, Uint32Array.from(prompt), Uint32Array.of(prompt.length - 1));
      await ctx.decodeBatch();
      let first = started;
      for (let position = prompt.length; ; position++) {
        const token = await ctx.sampleToken(logit ?? 0, this.sampler);
        if (tokens.length === 0) first = performance.now();
        tokens.push(token);
        if (tokens.length >= count) break;
        ctx.initBatch(1);
        [logit] = ctx.addToBatch(0, position, Uint32Array.of(token), Uint32Array.of(0));
        await ctx.decodeBatch();
      }
      return { tokens, started, first, ended: performance.now() };
    } finally {
      ctx.disposeSequence(0);
    }
  }

  private async evaluateGreedy(prompt: readonly number[], count: number): Promise<LlamaRun> {
    const sequence = this.context.getSequence();
    try {
      const tokens: number[] = [];
      const started = performance.now();
      let first = started;
      for await (const token of sequence.evaluate(prompt as Token[], { temperature: 0 })) {
        if (tokens.length === 0) first = performance.now();
        tokens.push(token);
        if (tokens.length >= count) break;
      }
      return { tokens, started, first, ended: performance.now() };
    } finally {
      sequence.dispose();
    }
  }

  /** The ids llama.cpp's own tokenizer (from the GGUF's metadata) makes of `text`. */
  tokenize(text: string): number[] {
    return this.model.tokenize(text, false);
  }

  /** Frees the sampler, the context and the model. */
  async close(): Promise<void> {
    this.sampler.dispose();
    await this.context.dispose();
    await this.model.dispose();
  }
}
