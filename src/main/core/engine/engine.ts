import type {
  EmbedRequest,
  EmbedResult,
  GenerateEvent,
  GenerateRequest,
  ImageProgress,
  ImageRequest,
  ImageResult,
  InferRequest,
  InferResult,
  ModelTask,
  TranscribeRequest,
  TranscribeResult,
} from '../../../shared/engine';
import type { LoadedInfo } from '../../../shared/runner-protocol';
import type { SlotEvent } from '../../../shared/slot-state';
import { isDiskFull } from '../disk-full';
import { LodgeError } from '../errors';
import type { ModelCatalog } from '../library/model-catalog';
import type { ModelRecord } from '../library/model-record';
import type { ResolvedModel } from '../library/model-resolver';
import type { Logger } from '../logging/logger';
import type { InferenceLog } from '../metrics/inference-log';
import { resolveCall, withPreset } from '../model-policy';
import type { Lease, RunningModel, Scheduler } from './scheduler';

/** Per-request options every API family can set. */
export interface CallOptions {
  /** How long the model stays loaded after this request; absent uses the setting. */
  readonly keepAliveMs?: number;
  /** Aborted when the client goes away or the user stops. */
  readonly signal?: AbortSignal;
}

/** A running model with its runner's resident memory, where the runner answered in time. */
export type RunningModelWithMemory = RunningModel & { readonly rssBytes: number | null };

const TASK_NAMES: Readonly<Record<ModelTask, string>> = {
  'text-generation': 'a text-generation model',
  embeddings: 'an embedding model',
  tensors: 'a plain ONNX (tensor) model',
  'text-to-image': 'an image-generation model',
  'image-text-to-text': 'a vision-language model',
  'speech-to-text': 'a speech-to-text model',
};

/**
 * The core's inference service: resolves model names, leases the model from the scheduler, runs
 * the request on its runner, and records what it cost. The HTTP families translate onto this.
 */
export class Engine {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly scheduler: Scheduler,
    private readonly log: InferenceLog,
    private readonly logger: Logger,
  ) {}

  /** Every model in the catalog. */
  models(): ModelRecord[] {
    return this.catalog.list();
  }

  /** Resolves a model name a client gave (`owner/name`, `name`, `owner/name:variant`). */
  resolve(name: string): ResolvedModel {
    return this.catalog.resolve(name);
  }

  /** Generates text; the last event is `done`. The model is released when the stream ends or is dropped. */
  async *generate(
    name: string,
    request: GenerateRequest,
    options: CallOptions = {},
  ): AsyncGenerator<GenerateEvent> {
    refuseImages(this.catalog.resolve(name).record, request);
    const { record, lease, started, keepAlive } = await this.#lease(name, 'text-generation', options, false);
    let outcome: 'stop' | 'length' | 'cancelled' | 'error' = 'error';
    // NOTE: the last use is noted once the first event is on its way to the client: it is a write
    // to the library's database, and time to first token is the client's.
    let noted = false;
    try {
      for await (const event of lease.runner.generate(
        withPreset(record, request),
        signalOf(options.signal, lease),
      )) {
        if (event.type === 'done') {
          if (event.finishReason === 'cancelled' && cutByShutdown(options.signal, lease)) {
            throw new LodgeError(
              'shutting_down',
              `Lodge is shutting down; the answer from ${record.id} was cut off after ${event.stats.completionTokens} tokens.`,
            );
          }
          outcome = event.finishReason;
          const { stats } = event;
          this.log.record({
            time: new Date().toISOString(),
            model: record.id,
            task: record.task,
            promptTokens: stats.promptTokens,
            cachedTokens: stats.cachedTokens,
            completionTokens: stats.completionTokens,
            queueWaitMs: lease.waitedMs,
            timeToFirstTokenMs: lease.waitedMs + stats.timeToFirstTokenMs,
            decodeTokensPerSecond:
              stats.decodeMs > 0 ? (stats.completionTokens / stats.decodeMs) * 1000 : null,
            totalMs: performance.now() - started,
            outcome,
          });
          yield { ...event, stats: { ...stats, waitMs: lease.waitedMs } };
        } else yield event;
        if (!noted) {
          noted = true;
          this.#noteUse(record);
        }
      }
    } finally {
      if (outcome === 'error') this.logger.debug({ model: record.id }, 'generation ended without completing');
      lease.release(keepAlive);
      if (!noted) this.#noteUse(record);
    }
  }

  /**
   * The prompt tokens of a generation request, rendered and tokenized by the model's runner exactly
   * as `generate` would (preset included); nothing is generated, and it is not an inference.
   */
  async countTokens(name: string, request: GenerateRequest, options: CallOptions = {}): Promise<number> {
    const { record, lease, keepAlive } = await this.#lease(name, 'text-generation', options);
    try {
      const { promptTokens } = await lease.runner.call(
        'count',
        { request: withPreset(record, request) },
        signalOf(options.signal, lease),
      );
      return promptTokens;
    } finally {
      lease.release(keepAlive);
    }
  }

  /** Embeds a batch of texts. */
  async embed(
    name: string,
    request: EmbedRequest,
    options: CallOptions = {},
  ): Promise<EmbedResult & { model: string }> {
    return this.#single(
      name,
      'embeddings',
      options,
      (runner, signal) => runner.call('embed', { request }, signal),
      (result) => result.promptTokens,
    );
  }

  /** Runs a tensor model. */
  async infer(
    name: string,
    request: InferRequest,
    options: CallOptions = {},
  ): Promise<InferResult & { model: string }> {
    return this.#single(
      name,
      'tensors',
      options,
      (runner, signal) => runner.call('infer', { request }, signal),
      () => 0,
    );
  }

  /** Generates images from a prompt; `onProgress` hears of each denoising step. */
  async generateImages(
    name: string,
    request: ImageRequest,
    options: CallOptions & { readonly onProgress?: (progress: ImageProgress) => void } = {},
  ): Promise<ImageResult & { model: string }> {
    return this.#single(
      name,
      'text-to-image',
      options,
      (runner, signal) => runner.call('diffuse', { request }, signal, { onProgress: options.onProgress }),
      () => 0,
    );
  }

  /** Transcribes or translates audio; `onText` hears each segment's text as it is decoded. */
  async transcribe(
    name: string,
    request: TranscribeRequest,
    options: CallOptions = {},
    onText?: (text: string) => void,
  ): Promise<TranscribeResult & { model: string }> {
    return this.#single(
      name,
      'speech-to-text',
      options,
      (runner, signal) =>
        runner.call('transcribe', { request }, signal, {
          onEvent: (event) => {
            if (event.type === 'text') onText?.(event.text);
          },
        }),
      () => 0,
    );
  }

  /** Loads a model and keeps it for `keepAliveMs` (absent: the setting). */
  async load(name: string, keepAliveMs?: number): Promise<{ model: string; info: LoadedInfo }> {
    const { record, variant } = this.catalog.resolve(name);
    const call = resolveCall(record, variant, keepAliveMs);
    const info = await this.scheduler.preload(record, call.variant, call.keepAliveMs);
    return { model: record.id, info };
  }

  /** Unloads a model (after its current request). False when it was not loaded. */
  async unload(name: string): Promise<boolean> {
    return this.scheduler.unload(this.catalog.resolve(name).record.id);
  }

  /** Every model slot's state (loading ones included), for a new `/app/events` subscriber. */
  slots(): SlotEvent[] {
    return this.scheduler.slots();
  }

  /** Calls `listener` whenever a model's slot changes state; returns the unsubscribe. */
  onSlot(listener: (event: SlotEvent) => void): () => void {
    return this.scheduler.onSlot(listener);
  }

  /** Stops accepting work, ends queued requests, and gives running ones `graceMs` (shutdown's first step). */
  drain(graceMs: number): Promise<void> {
    return this.scheduler.drain(graceMs);
  }

  /** The loaded models. */
  running(): RunningModel[] {
    return this.scheduler.running();
  }

  /** The loaded models with each runner's resident memory (asked with a short timeout). */
  async runningWithMemory(): Promise<RunningModelWithMemory[]> {
    return Promise.all(
      this.scheduler.running().map(async (model) => {
        const runner = this.scheduler.runnerOf(model.id);
        const stats = runner ? await withinMs(runner.call('stats', {}), STATS_TIMEOUT_MS) : null;
        return { ...model, rssBytes: stats?.rssBytes ?? null };
      }),
    );
  }

  /** Leases the model for a call; `noteUse` false leaves noting its last use to the caller. */
  async #lease(name: string, task: ModelTask, options: CallOptions, noteUse = true) {
    const started = performance.now();
    const { record, variant } = this.catalog.resolve(name);
    // A vision-language model chats with or without images.
    if (record.task !== task && !(task === 'text-generation' && record.task === 'image-text-to-text')) {
      throw new LodgeError(
        'invalid_request',
        `${record.id} is ${TASK_NAMES[record.task]}, not ${TASK_NAMES[task]}.`,
        { param: 'model' },
      );
    }
    const call = resolveCall(record, variant, options.keepAliveMs);
    const lease = await this.scheduler.acquire(record, call.variant, options.signal);
    try {
      if (noteUse) this.#noteUse(record);
    } catch (error) {
      lease.release();
      throw error;
    }
    return { record, lease, started, keepAlive: call.keepAliveMs };
  }

  /** Notes that `record` was used now; a full disk is logged, not thrown. */
  #noteUse(record: ModelRecord): void {
    try {
      this.catalog.touch(record.id);
    } catch (error) {
      // Noting when a model was last used needs disk space; a full disk must not stop inference.
      if (!isDiskFull(error)) throw error;
      this.logger.warn({ model: record.id }, 'could not note the last use of the model: the disk is full');
    }
  }

  /** A request with one reply (embeddings, tensors): lease the model, run, record, release. */
  async #single<T extends object>(
    name: string,
    task: ModelTask,
    options: CallOptions,
    work: (runner: Lease['runner'], signal: AbortSignal) => Promise<T>,
    promptTokens: (result: T) => number,
  ): Promise<T & { model: string }> {
    const { record, lease, started, keepAlive } = await this.#lease(name, task, options);
    try {
      const result = await work(lease.runner, signalOf(options.signal, lease)).catch((error: unknown) => {
        if (!cutByShutdown(options.signal, lease)) throw error;
        throw new LodgeError(
          'shutting_down',
          `Lodge is shutting down; the request to ${record.id} was stopped.`,
        );
      });
      this.log.record({
        time: new Date().toISOString(),
        model: record.id,
        task: record.task,
        promptTokens: promptTokens(result),
        cachedTokens: 0,
        completionTokens: 0,
        queueWaitMs: lease.waitedMs,
        timeToFirstTokenMs: null,
        decodeTokensPerSecond: null,
        totalMs: performance.now() - started,
        outcome: 'ok',
      });
      return { ...result, model: record.id };
    } finally {
      lease.release(keepAlive);
    }
  }
}

/** Images sent to a model that cannot see them are refused before it is loaded, naming the model. */
function refuseImages(record: ModelRecord, request: GenerateRequest): void {
  if (record.task === 'image-text-to-text' || request.prompt.kind !== 'chat') return;
  const images = request.prompt.messages.some((message) =>
    message.parts?.some((part) => part.type === 'image'),
  );
  if (images)
    throw new LodgeError(
      'invalid_request',
      `${record.id} is ${TASK_NAMES[record.task]} and takes text only; send images to a vision-language model.`,
      { param: 'messages' },
    );
}

/** How long `/app/runners` waits for a runner's memory figure. */
const STATS_TIMEOUT_MS = 500;

/** What `work` resolves to within `ms`, else null (a failure too); the timer is cleared either way. */
async function withinMs<T>(work: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([work.catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The client's signal joined with the lease's, which shutdown aborts past its grace period. */
function signalOf(own: AbortSignal | undefined, lease: Lease): AbortSignal {
  return own ? AbortSignal.any([own, lease.signal]) : lease.signal;
}

/** Whether a cancelled request was stopped by shutdown rather than by its client. */
function cutByShutdown(own: AbortSignal | undefined, lease: Lease): boolean {
  return lease.signal.aborted && own?.aborted !== true;
}
