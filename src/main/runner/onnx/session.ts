// ONNX Runtime sessions: creation with provider fallback, the optimized-graph cache, and runs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type {
  ExecutionProvider,
  SkippedProvider,
  TensorData,
  TensorInfo,
  TensorType,
} from '../../../shared/engine';
import { describeFastMatMuls, fastMatMulFile, type FastMatMulOptions } from './fast-matmul';
import { ortErrorText } from './ort-errors';
import { creationFailureReason, unavailableReason } from './providers';

// Warnings onnxruntime prints on every load ("Serializing optimized model with Graph Optimization
// level greater than ORT_ENABLE_EXTENDED…", its own source paths) are not for users: errors only.
ort.env.logLevel = 'error';

/** A tensor as onnxruntime-node holds it. */
export type OrtTensor = ort.Tensor;

/** How a session is opened. */
export interface OpenOptions {
  /** Providers to try, in order; CPU is always tried last even if absent. */
  readonly providers: readonly ExecutionProvider[];
  /** Intra-op threads; 0 lets ONNX Runtime choose. */
  readonly threads: number;
  /** Where optimized graphs are cached (CPU only), or null for no cache. */
  readonly cacheDir: string | null;
  /**
   * Where a WebGPU session leaves each named output: `gpu-buffer` keeps it on the device (a KV
   * cache fed back at the next step), `cpu` copies it back. Other providers copy everything back.
   */
  readonly outputLocations?: Readonly<Record<string, 'cpu' | 'gpu-buffer'>>;
  /**
   * On CPU with a cache dir: run the graph rewritten for onnxruntime's integer MatMul path
   * (fast-matmul.ts), kept in the cache dir. Changes the numbers, so a user's choice, not a default.
   */
  readonly fastMatMuls?: FastMatMulOptions;
}

/** An open session, the provider it runs on, and the providers skipped on the way with their reasons. */
export interface OpenedSession {
  readonly session: Session;
  readonly provider: ExecutionProvider;
  readonly skipped: readonly SkippedProvider[];
  /** True when the graph came from the optimized-model cache. */
  readonly fromCache: boolean;
  /** True when it runs the graph rewritten for integer MatMuls (`fastMatMuls`), not as exported. */
  readonly rewritten: boolean;
  /** Why a rewrite that was asked for is not what runs; null when it runs or none was asked for. */
  readonly rewriteNote: string | null;
  /** What the rewrite changed, in one line, when it runs; null otherwise. */
  readonly rewriteSummary: string | null;
}

/** Creates a tensor of `type` over `data` (not copied). */
export function tensor(type: TensorType, data: TensorData, dims: readonly number[]): OrtTensor {
  return new ort.Tensor(type, data, dims);
}

/** One onnxruntime-node session, with its graph's inputs and outputs described. */
export class Session {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];

  constructor(private readonly inner: ort.InferenceSession) {
    const describe = (metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] =>
      metadata.map((value) =>
        value.isTensor
          ? { name: value.name, type: value.type as TensorType, shape: [...value.shape] }
          : { name: value.name, type: 'unknown', shape: [] },
      );
    this.inputs = describe(inner.inputMetadata);
    this.outputs = describe(inner.outputMetadata);
  }

  /** Whether the graph has an input named `name`. */
  hasInput(name: string): boolean {
    return this.inner.inputNames.includes(name);
  }

  /**
   * Runs the graph. Only the outputs named in `fetches` are computed and copied back (all when
   * absent). NOTE: this blocks the thread for the whole inference; it runs only in a runner.
   */
  async run(
    feeds: Record<string, OrtTensor>,
    fetches?: readonly string[],
  ): Promise<Record<string, OrtTensor>> {
    return fetches ? this.inner.run(feeds, [...fetches]) : this.inner.run(feeds);
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.inner.release();
  }
}

/**
 * Opens `modelFile` on the first provider that works: each is checked, then tried, and every
 * provider passed over is reported with its reason. CPU comes last and always works for a valid
 * model; a model that fails even there raises the CPU error.
 */
export async function openSession(modelFile: string, options: OpenOptions): Promise<OpenedSession> {
  const order = [...options.providers.filter((provider) => provider !== 'cpu'), 'cpu' as const];
  const skipped: SkippedProvider[] = [];
  for (const provider of order) {
    const unavailable = unavailableReason(provider);
    if (unavailable !== null) {
      skipped.push({ provider, reason: unavailable });
      continue;
    }
    try {
      const opened = await create(modelFile, provider, options);
      return { ...opened, session: new Session(opened.session), provider, skipped };
    } catch (error) {
      if (provider === 'cpu') throw new Error(cpuFailure(errorMessage(error)), { cause: error });
      skipped.push({ provider, reason: creationFailureReason(provider, errorMessage(error)) });
    }
  }
  throw new Error('No execution provider could be tried.');
}

/** What `create` opened: the session, whether from the cache, and the rewrite's outcome. */
type Created = Omit<OpenedSession, 'session' | 'provider' | 'skipped'> & { session: ort.InferenceSession };

async function create(original: string, provider: ExecutionProvider, options: OpenOptions): Promise<Created> {
  const graph = rewrittenGraph(original, provider, options);
  if (graph.modelFile === original) return createFrom(original, provider, options, graph);
  try {
    return await createFrom(graph.modelFile, provider, options, graph);
  } catch (error) {
    // A rewritten graph onnxruntime refuses must not cost the model its load: the export runs, and
    // the copy goes (a damaged cache entry), so the next load quantizes afresh.
    for (const file of [graph.modelFile, `${graph.modelFile}.data`, `${graph.modelFile}.json`])
      rmSync(file, { force: true });
    return createFrom(original, provider, options, {
      rewriteNote: `its quantized graph did not load (${ortErrorText(error)}), so it runs as exported`,
      rewriteSummary: null,
    });
  }
}

async function createFrom(
  modelFile: string,
  provider: ExecutionProvider,
  options: OpenOptions,
  outcome: { readonly rewriteNote: string | null; readonly rewriteSummary: string | null },
): Promise<Created> {
  const { rewriteNote, rewriteSummary } = outcome;
  const rewritten = rewriteNote === null && rewriteSummary !== null;
  const base: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(options.threads > 0 ? { intraOpNumThreads: options.threads } : {}),
    interOpNumThreads: 1,
    // Pool threads that spin after each run take cores the core process, the client and the next
    // step need (decode was 1.1–2.4× transformers.js with spinning off against 0.8–1.1× with it, on
    // a shared 2-core machine): they sleep instead.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    executionMode: 'sequential',
    ...(provider === 'webgpu' && options.outputLocations !== undefined
      ? { preferredOutputLocation: options.outputLocations }
      : {}),
  };
  // NOTE: only CPU graphs are cached: other providers' optimizations depend on the device.
  const cached =
    provider === 'cpu' && options.cacheDir !== null ? optimizedPath(modelFile, options.cacheDir) : null;
  if (cached !== null && existsSync(cached)) {
    try {
      return {
        session: await ort.InferenceSession.create(cached, { ...base, graphOptimizationLevel: 'disabled' }),
        fromCache: true,
        rewritten,
        rewriteNote,
        rewriteSummary,
      };
    } catch {
      // A cache entry that no longer loads (written by another ORT, truncated) is rebuilt below.
    }
  }
  if (cached === null)
    return {
      session: await ort.InferenceSession.create(modelFile, base),
      fromCache: false,
      rewritten,
      rewriteNote,
      rewriteSummary,
    };

  mkdirSync(options.cacheDir as string, { recursive: true });
  const partial = `${cached}.partial-${process.pid}`;
  const session = await ort.InferenceSession.create(modelFile, {
    ...base,
    optimizedModelFilePath: partial,
    extra: {
      session: {
        // Large weights go beside the cached graph, so graphs past protobuf's 2 GB limit still save.
        // The graph refers to this file by name, so it is written under its final name at once.
        optimized_model_external_initializers_file_name: `${basename(cached)}.data`,
        optimized_model_external_initializers_min_size_in_bytes: '1024',
      },
    },
  });
  try {
    renameSync(partial, cached);
  } catch {
    // Caching is an optimization: a failed write leaves the next load on the normal path.
  }
  return { session, fromCache: false, rewritten, rewriteNote, rewriteSummary };
}

/**
 * The graph a session opens: the integer-MatMul rewrite of `original` when one is asked for on the
 * CPU (made once into the cache dir), else `original`. A rewrite that fails or finds nothing to
 * change leaves the graph as exported, and says why in `rewriteNote`; one that runs says what it
 * changed in `rewriteSummary`.
 */
function rewrittenGraph(
  original: string,
  provider: ExecutionProvider,
  options: OpenOptions,
): { modelFile: string; rewriteNote: string | null; rewriteSummary: string | null } {
  const unchanged = (rewriteNote: string | null) => ({
    modelFile: original,
    rewriteNote,
    rewriteSummary: null,
  });
  if (options.fastMatMuls === undefined) return unchanged(null);
  if (provider !== 'cpu') return unchanged(`quantization at load is for the CPU, and it runs on ${provider}`);
  if (options.cacheDir === null) return unchanged('quantization at load needs a cache directory');
  try {
    let summary = '';
    const modelFile = fastMatMulFile(original, options.cacheDir, options.fastMatMuls, (report) => {
      summary = describeFastMatMuls(report);
    });
    if (modelFile === original) return unchanged(`nothing in its graph could be quantized (${summary})`);
    return { modelFile, rewriteNote: null, rewriteSummary: summary };
  } catch (error) {
    return unchanged(`its graph could not be quantized (${errorMessage(error)}), so it runs as exported`);
  }
}

/** The cache entry for a model: keyed by its path, size, modification time and the ORT version. */
export function optimizedPath(modelFile: string, cacheDir: string): string {
  const stat = statSync(modelFile);
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        modelFile,
        stat.size,
        stat.mtimeMs,
        ort.env.versions.common,
        process.platform,
        process.arch,
      ]),
    )
    .digest('hex')
    .slice(0, 24);
  return join(cacheDir, `${key}.onnx`);
}

/** ONNX element types onnxruntime-node cannot exchange with JavaScript, by TensorProto number. */
const UNEXCHANGEABLE: Readonly<Record<string, string>> = {
  '16': 'bfloat16',
  '17': 'float8 (e4m3fn)',
  '18': 'float8 (e4m3fnuz)',
  '19': 'float8 (e5m2)',
  '20': 'float8 (e5m2fnuz)',
};

/** A CPU session failure in words: the element types onnxruntime-node names only by number. */
function cpuFailure(message: string): string {
  const type = /Unsupported data type: (\d+)/.exec(message)?.[1];
  const name = type === undefined ? undefined : UNEXCHANGEABLE[type];
  if (name !== undefined) {
    return `its graph has ${name} inputs or outputs, which onnxruntime-node cannot exchange with JavaScript; use the model's fp32, fp16 or q4 variant`;
  }
  return ortErrorText(message);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** onnxruntime-node's version, for the runner's hello. */
export function ortVersion(): string {
  return ort.env.versions.common;
}
