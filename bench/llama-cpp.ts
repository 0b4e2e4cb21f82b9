// llama.cpp as the peer users compare Lodge with (Ollama and LM Studio run it): node-llama-cpp's
// prebuilt CPU library, offline, on a GGUF file, fed token ids directly (so the prompt is exactly
// Lodge's), greedy, with f32 KV so that an f32 model computes what onnxruntime computes.
import {
  getLlama,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';

let shared: Promise<Llama> | null = null;

/** The CPU llama.cpp library, loaded once (never built, never downloaded). */
function llama(): Promise<Llama> {
  shared ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return shared;
}

/** One GGUF model opened in llama.cpp with one context of `contextSize` tokens on `threads` threads. */
export class LlamaCpp {
  private constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
  ) {}

  /** Opens `file`; `contextSize` must hold the prompt and every new token. */
  static async open(file: string, threads: number, contextSize = 1024): Promise<LlamaCpp> {
    const model = await (await llama()).loadModel({ modelPath: file, gpuLayers: 0 });
    const context = await model.createContext({
      contextSize,
      threads,
      sequences: 1,
      flashAttention: false,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
    });
    return new LlamaCpp(model, context);
  }

  /**
   * Greedy decoding of `count` new tokens after `prompt` from an empty cache (EOS ignored), with
   * the time the first new token came and the time the last did (performance.now()).
   */
  async greedy(
    prompt: readonly number[],
    count: number,
  ): Promise<{ tokens: number[]; started: number; first: number; ended: number }> {
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

  /** Frees the context and the model. */
  async close(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }
}
