// ONNX Runtime sessions: creation with provider fallback, the optimized-graph cache, and runs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type {
  ExecutionProvider,
  SkippedProvider,
  TensorData,
  TensorInfo,
  TensorType,
} from '../../../shared/engine';
import { describeFastMatMuls, fastMatMulFile, graphFiles, type FastMatMulOptions } from './fast-matmul';
import {
  FUSION_VERSION,
  fusedAny,
  fusedModel,
  NO_FUSION,
  parseFusionReport,
  type FusionReport,
} from './fused-graph';
import { floatActivations } from './matmul-rewrite';
import { readScreenTables, writeScreenTables, type ScreenTables } from './screen-tables';
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
  /**
   * On CPU with a cache dir: run the graph (the export, or its `fastMatMuls` rewrite) with its
   * decoder attention and RMSNorms fused (fused-graph.ts), kept as the cached optimized graph.
   * For decoders' sessions, which check a fresh fusion against `fusedFrom` (language-model.ts).
   */
  readonly fuse?: boolean;
  /** False: neither read nor write the optimized-graph cache (a session opened once, to compare). */
  readonly keepOptimized?: boolean;
  /**
   * On CPU: every MatMulNBits that rounds its activations to int8 reads them as floats instead
   * (`floatActivations` in matmul-rewrite.ts), the graph fused or not as `fuse` says, nothing cached.
   * For a check that compares two graphs (a fusion and its source), which int8 rounding would tell
   * apart by more than their arithmetic does. Fails where no MatMulNBits rounds.
   */
  readonly floatActivations?: boolean;
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
  /** What the fusions of `fuse` changed, when the fused graph runs; null otherwise. */
  readonly fusion: FusionReport | null;
  /** The graph file the fused graph was made from (for `forgetFusion`); null where none runs. */
  readonly fusedFrom: string | null;
  /**
   * The tables of the fused graph's screened LM head (screen-rewrite.ts), where it has one and
   * they are at hand; null otherwise (then only its exact head serves).
   */
  readonly screen: ScreenTables | null;
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
  if (options.floatActivations === true) {
    if (provider !== 'cpu') throw new Error('float activations are a CPU check');
    return createFloat(graph.modelFile, options, graph);
  }
  if (options.fuse === true && provider === 'cpu' && options.cacheDir !== null) {
    const fused = await createFused(graph.modelFile, options.cacheDir, options, graph);
    if (fused !== null) return fused;
  }
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
  const base = sessionOptions(provider, options);
  // NOTE: only CPU graphs are cached: other providers' optimizations depend on the device.
  const cached =
    provider === 'cpu' && options.cacheDir !== null && options.keepOptimized !== false
      ? optimizedPath(modelFile, options.cacheDir)
      : null;
  const created = (session: ort.InferenceSession, fromCache: boolean): Created => ({
    session,
    fromCache,
    rewritten,
    rewriteNote,
    rewriteSummary,
    fusion: null,
    fusedFrom: null,
    screen: null,
  });
  if (cached !== null && existsSync(cached)) {
    try {
      return created(
        await ort.InferenceSession.create(cached, { ...base, graphOptimizationLevel: 'disabled' }),
        true,
      );
    } catch {
      // A cache entry that no longer loads (written by another ORT, truncated) is rebuilt below.
    }
  }
  if (cached === null) return created(await ort.InferenceSession.create(modelFile, base), false);

  mkdirSync(options.cacheDir as string, { recursive: true });
  const partial = `${cached}.partial-${process.pid}`;
  const session = await ort.InferenceSession.create(modelFile, saving(base, cached, partial));
  try {
    renameSync(partial, cached);
  } catch {
    // Caching is an optimization: a failed write leaves the next load on the normal path.
  }
  return created(session, false);
}

/** `base` that also saves the optimized graph to `partial`, to be renamed `cached`. */
function saving(
  base: ort.InferenceSession.SessionOptions,
  cached: string,
  partial: string,
): ort.InferenceSession.SessionOptions {
  const extra = (base.extra ?? {}) as { session?: Record<string, unknown> };
  return {
    ...base,
    optimizedModelFilePath: partial,
    extra: {
      ...extra,
      session: {
        ...extra.session,
        // Large weights go beside the cached graph, so graphs past protobuf's 2 GB limit still save.
        // The graph refers to this file by name, so it is written under its final name at once.
        optimized_model_external_initializers_file_name: `${basename(cached)}.data`,
        optimized_model_external_initializers_min_size_in_bytes: '1024',
      },
    },
  };
}

/** The options every session of `provider` opens with. */
function sessionOptions(
  provider: ExecutionProvider,
  options: OpenOptions,
): ort.InferenceSession.SessionOptions {
  return {
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
}

/**
 * A CPU session over the fused graph of `source` (fused-graph.ts), the graph that would run
 * otherwise (the export, or its quantization at load in `cacheDir`): the cached optimized graph of
 * an earlier fusion, or a fusion made now, whose optimized graph the session saves there (with its
 * weights: the fused graph reads those of `source` where they are). Null where the graph has
 * nothing to fuse or its fused graph does not load: then `source` opens as it is, and a note in the
 * cache says so, so the next load does not try. `outcome` is the quantization's, carried over.
 */
async function createFused(
  source: string,
  cacheDir: string,
  options: OpenOptions,
  outcome: { readonly rewriteNote: string | null; readonly rewriteSummary: string | null },
): Promise<Created | null> {
  const cached = fusedPath(source, cacheDir);
  const reportFile = `${cached}.json`;
  const base = sessionOptions('cpu', options);
  const tablesFile = `${cached}.screen`;
  const opened = (
    session: ort.InferenceSession,
    fromCache: boolean,
    report: FusionReport,
    screen: ScreenTables | null,
  ): Created => ({
    session,
    fromCache,
    rewritten: outcome.rewriteNote === null && outcome.rewriteSummary !== null,
    rewriteNote: outcome.rewriteNote,
    rewriteSummary: outcome.rewriteSummary,
    fusion: report,
    fusedFrom: source,
    screen,
  });
  const saved = readFusionReport(reportFile);
  if (saved !== null && !fusedAny(saved)) return null;
  if (saved !== null && existsSync(cached)) {
    try {
      const session = await ort.InferenceSession.create(cached, {
        ...base,
        graphOptimizationLevel: 'disabled',
      });
      return opened(session, true, saved, saved.screen > 0 ? readScreenTables(tablesFile) : null);
    } catch {
      // A cache entry that no longer loads is made again below.
    }
  }
  // A fresh fusion is checked against its source (language-model.ts), two sessions at once: where
  // the weights would not fit in free memory twice, this load runs `source` as it is, and a later
  // one, with more memory free, fuses.
  const weights = weightBytes(source);
  if (2 * weights > freemem()) return null;
  mkdirSync(cacheDir, { recursive: true });
  let fused: ReturnType<typeof fusedModel> = null;
  try {
    // A screened head keeps a float copy of the head's weights in the runner, and an int8 one in
    // the session: made only where that fits beside the check's two sessions.
    fused = fusedModel(source, { screen: 3 * weights <= freemem() });
  } catch {
    // A graph the fusions cannot read opens as exported; its own errors are the normal load's to report.
  }
  if (fused === null) {
    writeFusionReport(reportFile, NO_FUSION);
    return null;
  }
  const partial = `${cached}.partial-${process.pid}`;
  try {
    const session = await ort.InferenceSession.create(
      fused.bytes,
      saving(fused.external ? dataFolder(base, dirname(source)) : base, cached, partial),
    );
    try {
      // The tables go first: a report that names a screen finds them, or the exact head serves.
      if (fused.screen !== null) writeScreenTables(tablesFile, fused.screen);
      renameSync(partial, cached);
      writeFusionReport(reportFile, fused.report);
    } catch {
      // Caching is an optimization: the next load fuses again.
    }
    return opened(session, false, fused.report, fused.screen);
  } catch {
    rmSync(partial, { force: true });
    writeFusionReport(reportFile, NO_FUSION);
    return null;
  }
}

/**
 * A CPU session over `source`, fused where `options.fuse` asks, with its MatMulNBits reading float
 * activations (OpenOptions.floatActivations): made in memory, never cached.
 */
async function createFloat(
  source: string,
  options: OpenOptions,
  outcome: { readonly rewriteNote: string | null; readonly rewriteSummary: string | null },
): Promise<Created> {
  // The float twin is a reference for a check: its exact head is all it needs.
  const fused = options.fuse === true ? fusedModel(source, { screen: false }) : null;
  if (options.fuse === true && fused === null) throw new Error('nothing in its graph fuses');
  const model = onnx.ModelProto.decode(fused?.bytes ?? readFileSync(source));
  if (floatActivations(model) === 0) throw new Error('no MatMulNBits in its graph rounds its activations');
  const base = sessionOptions('cpu', options);
  // Weights in data files are read from the source's folder (a quantization at load's, in the cache).
  const session = await ort.InferenceSession.create(
    onnx.ModelProto.encode(model).finish(),
    dataFolder(base, dirname(source)),
  );
  return {
    session,
    fromCache: false,
    rewritten: outcome.rewriteNote === null && outcome.rewriteSummary !== null,
    rewriteNote: outcome.rewriteNote,
    rewriteSummary: outcome.rewriteSummary,
    fusion: fused?.report ?? null,
    fusedFrom: null,
    screen: null,
  };
}

/** `base` for a graph opened from bytes whose weights are in data files in `folder`. */
function dataFolder(
  base: ort.InferenceSession.SessionOptions,
  folder: string,
): ort.InferenceSession.SessionOptions {
  const extra = (base.extra ?? {}) as { session?: Record<string, unknown> };
  return {
    ...base,
    extra: { ...extra, session: { ...extra.session, model_external_initializers_file_folder_path: folder } },
  };
}

/** The bytes of `modelFile` and of its data files beside it (`x.onnx_data`, `x.onnx_data_1`, `x.onnx.data`). */
function weightBytes(modelFile: string): number {
  return graphFiles(modelFile).reduce((total, path) => total + statSync(path).size, 0);
}

/**
 * The cache entry of the fused graph of `source`, keyed by its data files' sizes and times too: the
 * fused graph and the screened head's tables hold copies of weights that may live there.
 */
function fusedPath(source: string, cacheDir: string): string {
  const data = graphFiles(source)
    .slice(1)
    .map((path) => {
      const stat = statSync(path);
      return [basename(path), stat.size, stat.mtimeMs];
    });
  return optimizedPath(
    source,
    cacheDir,
    `fused-${FUSION_VERSION}${data.length > 0 ? JSON.stringify(data) : ''}`,
  );
}

/**
 * Forgets the fusion of `source` (an OpenedSession's `fusedFrom`) in `cacheDir`: its cached graph
 * goes, and a note that it has nothing to fuse stays, so later loads open `source` as it is (for a
 * fused graph found to compute something else).
 */
export function forgetFusion(source: string, cacheDir: string | null): void {
  if (cacheDir === null) return;
  const cached = fusedPath(source, cacheDir);
  for (const file of [cached, `${cached}.data`, `${cached}.screen`]) rmSync(file, { force: true });
  writeFusionReport(`${cached}.json`, NO_FUSION);
}

function readFusionReport(file: string): FusionReport | null {
  try {
    return parseFusionReport(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return null;
  }
}

function writeFusionReport(file: string, report: FusionReport): void {
  try {
    const partial = `${file}.partial-${process.pid}`;
    writeFileSync(partial, JSON.stringify(report));
    renameSync(partial, file);
  } catch {
    // Without the note the next load decides again.
  }
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
export function optimizedPath(modelFile: string, cacheDir: string, variant = ''): string {
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
        ...(variant === '' ? [] : [variant]),
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
