import type { ErrorCode } from './errors';
import type {
  EmbedRequest,
  EmbedResult,
  ExecutionProvider,
  GenerateEvent,
  GenerateRequest,
  ImageProgress,
  ImageRequest,
  ImageResult,
  InferRequest,
  InferResult,
  ModelTask,
  QuantizeMode,
  SkippedProvider,
  TensorInfo,
  TranscribeRequest,
  TranscribeResult,
} from './engine';

/** What a runner loads: one model, its task, the ONNX file chosen, and how to run it. */
export interface LoadSpec {
  readonly modelId: string;
  readonly task: ModelTask;
  /** The model's folder (config and tokenizer files). */
  readonly dir: string;
  /** The ONNX file of the chosen variant. */
  readonly modelFile: string;
  readonly providers: readonly ExecutionProvider[];
  readonly threads: number;
  readonly cacheDir: string | null;
  /** Text generations to decode together at most (continuous batching); absent or 1: one at a time. */
  readonly parallel?: number;
  /** Quantization at load (text generation on the CPU, with a cache dir); absent: `off`. */
  readonly quantize?: QuantizeMode;
}

/** How a language model's runner serves concurrent generations. */
export interface BatchingInfo {
  /** Generations it decodes together at most: the `parallel` asked for, or 1 when it cannot batch. */
  readonly parallel: number;
  /** Where each sequence's keys and values sit in the batch; null when they run one at a time. */
  readonly layout: 'left' | 'right' | null;
  /** Why generations run one at a time though more were asked for; null otherwise. */
  readonly reason: string | null;
}

/** What a runner reports once its model is loaded. */
export interface LoadedInfo {
  readonly provider: ExecutionProvider;
  readonly skipped: readonly SkippedProvider[];
  readonly fromCache: boolean;
  readonly loadMs: number;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** Context window of a language model; null for other tasks. */
  readonly contextLength: number | null;
  /** How a language model serves concurrent generations; null for other tasks. */
  readonly batching: BatchingInfo | null;
  /** The quantization its session runs with, when one was made at load; absent: the graph as exported. */
  readonly quantized?: Exclude<QuantizeMode, 'off'>;
  /** Why a quantization asked for at load is not what runs (the graph then runs as exported). */
  readonly quantizeNote?: string;
  /** What the quantization at load changed in the graph, in one line, when it runs. */
  readonly quantizeSummary?: string;
  /** What the graph fusions at load changed (attention, norms; quantized or not), in one line, when they run. */
  readonly fusions?: string;
}

/** A runner's resource use. */
export interface RunnerStats {
  readonly rssBytes: number;
}

/** The answer to each request type. */
export interface RunnerResults {
  load: LoadedInfo;
  generate: null;
  /** The prompt's size in tokens, as a generation of the same request would see it. */
  count: { readonly promptTokens: number };
  embed: EmbedResult;
  infer: InferResult;
  diffuse: ImageResult;
  /** A transcript; each segment is also sent as a text event as soon as it is decoded. */
  transcribe: TranscribeResult;
  stats: RunnerStats;
}

/** A request type. */
export type RunnerRequestType = keyof RunnerResults;

/** Messages from the core to a runner over the fork IPC channel (advanced serialization). */
export type CoreToRunnerMessage =
  | { readonly type: 'load'; readonly id: number; readonly spec: LoadSpec }
  | { readonly type: 'generate'; readonly id: number; readonly request: GenerateRequest }
  | { readonly type: 'count'; readonly id: number; readonly request: GenerateRequest }
  | { readonly type: 'embed'; readonly id: number; readonly request: EmbedRequest }
  | { readonly type: 'infer'; readonly id: number; readonly request: InferRequest }
  | { readonly type: 'diffuse'; readonly id: number; readonly request: ImageRequest }
  | { readonly type: 'transcribe'; readonly id: number; readonly request: TranscribeRequest }
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'cancel'; readonly id: number }
  | { readonly type: 'shutdown' };

/** Messages from a runner to the core. */
export type RunnerToCoreMessage =
  | { readonly type: 'ready'; readonly ortVersion: string; readonly backends: readonly string[] }
  | { readonly type: 'event'; readonly id: number; readonly event: GenerateEvent }
  | { readonly type: 'progress'; readonly id: number; readonly progress: ImageProgress }
  | { readonly type: 'result'; readonly id: number; readonly result: RunnerResults[RunnerRequestType] }
  | { readonly type: 'error'; readonly id: number; readonly code: ErrorCode; readonly message: string };
