/**
 * Engine vocabulary shared by the core, the runners and the UI: tasks, execution providers,
 * tensors, sampling and generation events.
 */
import type { GrammarSpec } from './grammar';

/**
 * What a model does. `text-to-image`: image generation; `image-text-to-text`: a vision-language
 * model, chat with images; `speech-to-text`: transcription and translation of audio.
 */
export type ModelTask =
  'text-generation' | 'embeddings' | 'tensors' | 'text-to-image' | 'image-text-to-text' | 'speech-to-text';

/** Execution providers Lodge knows, in its default order of preference. */
export const EXECUTION_PROVIDERS = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const;

/** One of {@link EXECUTION_PROVIDERS}. */
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/**
 * Quantization at load, for CPU sessions of language models: `off` runs the graph as exported;
 * `q8` and `q4` rewrite its fp32 matrix weights into 8- or 4-bit blocks of 32 (llama.cpp's Q8_0 /
 * Q4_0; the LM head at 8 bits either way) computed by onnxruntime's integer kernels. Faster, and
 * the numbers change, so never a default.
 */
export const QUANTIZE_MODES = ['off', 'q8', 'q4'] as const;

/** One of {@link QUANTIZE_MODES}. */
export type QuantizeMode = (typeof QUANTIZE_MODES)[number];

/** A provider that was not used, and why. */
export interface SkippedProvider {
  readonly provider: ExecutionProvider;
  readonly reason: string;
}

/** ONNX Runtime tensor element types as onnxruntime-node names them. */
export const TENSOR_TYPES = [
  'float32',
  'float16',
  'float64',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
] as const;

/** One of {@link TENSOR_TYPES}. */
export type TensorType = (typeof TENSOR_TYPES)[number];

/** A graph input or output: its name, element type and shape (-1 or a name for dynamic dims). */
export interface TensorInfo {
  readonly name: string;
  readonly type: TensorType | 'unknown';
  readonly shape: readonly (number | string)[];
}

/** The data of a tensor of each type, as it crosses the IPC channel. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

/** A named tensor with its data, row-major. */
export interface NamedTensor {
  readonly name: string;
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** How the next token is chosen. Every field has a neutral default (greedy when temperature is 0). */
export interface SamplingOptions {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly repetitionPenalty: number;
  /** How many recent tokens the repetition penalty looks at (llama.cpp's repeat_last_n). */
  readonly repeatLastN: number;
  readonly presencePenalty: number;
  readonly frequencyPenalty: number;
  /** Same seed, same output; absent picks one at random. */
  readonly seed?: number;
  /** Added to the logit of each token id before sampling (OpenAI's logit_bias, −100…100). */
  readonly logitBias?: Readonly<Record<number, number>>;
}

/** Neutral sampling: greedy decoding with no penalties. */
export const GREEDY: SamplingOptions = {
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  repeatLastN: 64,
  presencePenalty: 0,
  frequencyPenalty: 0,
};

/** A piece of a chat message in order: text, or an image as its encoded bytes (png, jpeg, webp, gif). */
export type ContentPart =
  { readonly type: 'text'; readonly text: string } | { readonly type: 'image'; readonly image: Uint8Array };

/** A chat message as the chat template sees it. */
export interface ChatMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  /** The message's text (its text parts joined, when it has parts). */
  readonly content: string;
  /** Set when the message carries images: its text and images in order (vision-language models). */
  readonly parts?: readonly ContentPart[];
  readonly name?: string;
  readonly tool_calls?: readonly {
    readonly type?: 'function';
    readonly id?: string;
    readonly function: { readonly name: string; readonly arguments: unknown };
  }[];
  readonly tool_call_id?: string;
}

/** A tool (function) the model may call, as chat templates receive it. */
export interface ToolDefinition {
  readonly type: 'function';
  readonly function: { readonly name: string; readonly description?: string; readonly parameters?: unknown };
}

/** What to generate from: a raw prompt, or messages rendered by the model's chat template. */
export type Prompt =
  | { readonly kind: 'text'; readonly text: string }
  | {
      readonly kind: 'chat';
      readonly messages: readonly ChatMessage[];
      readonly tools?: readonly ToolDefinition[];
    };

/** One generation. */
export interface GenerateRequest {
  readonly prompt: Prompt;
  /** At most this many new tokens (absent: the model's preset, else until the context window ends). */
  readonly maxTokens?: number;
  /** Strings that end the output; never included in it. */
  readonly stop: readonly string[];
  readonly sampling: SamplingOptions;
  /** Report each token's log-probability, with this many alternatives (0–20); absent for none. */
  readonly logprobs?: number;
  /** Keep going past end-of-sequence tokens (benchmarks). */
  readonly ignoreEos?: boolean;
  /** A smaller context window than the model's, as Ollama's num_ctx asks. */
  readonly contextLimit?: number;
  /** Constrain the output to a grammar (JSON, a JSON schema, forced tool calls). */
  readonly grammar?: GrammarSpec;
}

/** A token's log-probability and its best alternatives. */
export interface TokenLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly top: readonly { readonly token: string; readonly logprob: number }[];
}

/** Why a generation ended. `length` covers both max tokens and the end of the context window. */
export type FinishReason = 'stop' | 'length' | 'cancelled';

/** The figures of one generation. */
export interface GenerationStats {
  readonly promptTokens: number;
  /** Prompt tokens whose KV cache was reused from the previous request. */
  readonly cachedTokens: number;
  readonly completionTokens: number;
  readonly prefillMs: number;
  readonly decodeMs: number;
  /** From the request reaching the runner to the first token (queue wait excluded). */
  readonly timeToFirstTokenMs: number;
  /** Waiting for the model before the runner started (loading, queue); set by the core. */
  readonly waitMs?: number;
}

/** A streamed piece of a generation. */
export type GenerateEvent =
  | {
      readonly type: 'text';
      readonly text: string;
      readonly tokens: number;
      readonly logprobs?: readonly TokenLogprob[];
      /** On the first piece only: the prompt's size, known once it is prefilled. */
      readonly prompt?: { readonly tokens: number; readonly cached: number };
    }
  | {
      readonly type: 'done';
      readonly finishReason: FinishReason;
      readonly stats: GenerationStats;
      /** The stop string that ended the output, when one did. */
      readonly stopSequence?: string;
      /** Tool calls a remote engine returned already parsed (a local model's stay in its text). */
      readonly calls?: readonly { readonly name: string; readonly arguments: Record<string, unknown> }[];
      /** For a model alias or a remote model: which target served, and which failed before it. */
      readonly route?: RouteNote;
    };

/** Which target of a model alias (or which remote model) served a generation, and which failed first. */
export interface RouteNote {
  readonly served: string;
  readonly failed: readonly { readonly target: string; readonly reason: string }[];
}

/** A batch of embeddings. */
export interface EmbedRequest {
  readonly inputs: readonly string[];
  /** Cut inputs longer than the model's maximum; otherwise they are an error. */
  readonly truncate: boolean;
  /** L2-normalize each vector (the default); Ollama's legacy endpoint returns them raw. */
  readonly normalize?: boolean;
}

/** Embeddings, one per input, L2-normalized, with the tokens they took. */
export interface EmbedResult {
  readonly embeddings: readonly Float32Array[];
  readonly promptTokens: number;
}

/** A tensor inference request. */
export interface InferRequest {
  readonly inputs: readonly NamedTensor[];
  /** Outputs to return; all when absent. */
  readonly outputs?: readonly string[];
}

/** A tensor inference result. */
export interface InferResult {
  readonly outputs: readonly NamedTensor[];
}

/** One text-to-image generation: `count` images of `width`×`height`, seeds `seed`, `seed + 1`, …. */
export interface ImageRequest {
  readonly prompt: string;
  /** What the image should not show; the unconditioned half of guidance (empty: none). */
  readonly negativePrompt: string;
  readonly width: number;
  readonly height: number;
  readonly count: number;
  readonly seed: number;
  /** Denoising steps; absent: the model's default (1 for a turbo model, else 20). */
  readonly steps?: number;
  /** Classifier-free guidance; ≤ 1 turns it off. Absent: the model's default (0 turbo, else 7.5). */
  readonly guidanceScale?: number;
}

/** Progress of an image generation: denoising step `step` of `steps` of image `image` of `images`. */
export interface ImageProgress {
  readonly image: number;
  readonly images: number;
  readonly step: number;
  readonly steps: number;
}

/** The generated images, PNG-encoded, with what made them. */
export interface ImageResult {
  readonly images: readonly { readonly png: Uint8Array; readonly seed: number }[];
  readonly steps: number;
  readonly guidanceScale: number;
  /** The scheduler that ran (`euler-ancestral`, `euler`, `dpmpp-2m`). */
  readonly scheduler: string;
}

/** Speech to text: one audio file, transcribed in its language or translated into English. */
export interface TranscribeRequest {
  /** The audio file's bytes (WAV, MP3, FLAC, Ogg/Opus, M4A, WebM), decoded by the runner. */
  readonly audio: Uint8Array;
  readonly task: 'transcribe' | 'translate';
  /** The spoken language's code (`en`, `fr`); absent: detected from the first 30 s. */
  readonly language?: string;
  /** Earlier text that the transcript continues (names, spelling, style). */
  readonly prompt?: string;
  /** 0 decodes greedily; above, tokens are sampled at this temperature. */
  readonly temperature: number;
}

/** One stretch of a transcript between two timestamps. */
export interface TranscriptSegment {
  readonly id: number;
  /** The mel frame (10 ms each) at which the 30 s window that wrote it starts. */
  readonly seek: number;
  /** Seconds from the start of the audio. */
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly tokens: readonly number[];
  readonly avgLogprob: number;
  readonly compressionRatio: number;
  readonly noSpeechProb: number;
}

/** A transcript, its segments, and what was heard. */
export interface TranscribeResult {
  readonly text: string;
  /** The language transcribed (given or detected); null for an English-only model. */
  readonly language: string | null;
  /** Seconds of audio. */
  readonly duration: number;
  readonly segments: readonly TranscriptSegment[];
  /** Each decoding pass: the window's first mel frame and the tokens kept from it (timestamps relative to it). */
  readonly passes: readonly { readonly seek: number; readonly tokens: readonly number[] }[];
}
