import type { ExecutionProvider } from '../../../shared/engine';
import type { LoadedInfo } from '../../../shared/runner-protocol';
import { LodgeError } from '../errors';
import type { ModelRecord, ModelVariant } from '../library/model-folder';
import type { Logger } from '../logging/logger';
import type { Clock } from './clock';
import type { MemoryInfo } from './hardware';
import type { RunnerProcess } from './runner-process';

/** The engine settings the scheduler reads on every decision. */
export interface SchedulerSettings {
  readonly providers: readonly ExecutionProvider[];
  readonly threads: number;
  readonly keepAliveMs: number;
  readonly maxLoadedModels: number;
  /** Bytes models may take in total. */
  readonly memoryBudgetBytes: number;
  /** Requests that may wait for one model; one more answers `queue_full`. */
  readonly queueLimit: number;
}

/** What the scheduler is built from; the runner factory, clock and memory probe are injectable. */
export interface SchedulerDeps {
  readonly settings: () => SchedulerSettings;
  readonly spawn: (modelId: string) => RunnerProcess;
  readonly cacheDir: string;
  readonly clock: Clock;
  readonly memory: () => MemoryInfo;
  readonly logger: Logger;
}

/** A loaded model as the running list shows it. */
export interface RunningModel {
  readonly id: string;
  readonly task: ModelRecord['task'];
  readonly variant: ModelVariant['name'];
  readonly provider: ExecutionProvider;
  readonly skippedProviders: LoadedInfo['skipped'];
  readonly pid: number | null;
  readonly estimatedBytes: number;
  readonly loadedAt: number;
  readonly loadMs: number;
  readonly lastUsedAt: number;
  readonly busy: boolean;
  readonly queueLength: number;
  /** When it unloads if no request comes; null while busy or when kept loaded forever. */
  readonly expiresAt: number | null;
  readonly contextLength: number | null;
}

/** The right to use a loaded model for one request. Release exactly once. */
export interface Lease {
  readonly runner: RunnerProcess;
  readonly info: LoadedInfo;
  readonly variant: ModelVariant;
  /** Time spent waiting for the model (loading and queueing), in ms. */
  readonly waitedMs: number;
  /** Returns the model; `keepAliveMs` sets how long it stays loaded afterwards (default: settings). */
  release(keepAliveMs?: number): void;
}

interface Waiter {
  grant(): void;
  fail(error: Error): void;
}

interface Slot {
  readonly record: ModelRecord;
  readonly variant: ModelVariant;
  readonly runner: RunnerProcess;
  readonly estimatedBytes: number;
  /** Resolves once the model is loaded; shared by every request that arrives meanwhile. */
  readonly loaded: Promise<LoadedInfo>;
  info: LoadedInfo | null;
  loadedAt: number;
  lastUsedAt: number;
  busy: boolean;
  readonly queue: Waiter[];
  expiresAt: number | null;
  timer: unknown;
  unloadWhenIdle: boolean;
}

/** Memory a session takes beyond its weight files (runtime, arena, activations), as a factor and a floor. */
const OVERHEAD_FACTOR = 1.25;
const OVERHEAD_BYTES = 64 * 1024 * 1024;

/**
 * Owns every loaded model (Ollama's sched.go is the model). Invariants:
 * 1. At most one runner per model id; concurrent first requests share one load.
 * 2. A runner serves one request at a time (a language model's KV cache is per sequence); the
 *    others wait in its bounded queue, in arrival order.
 * 3. A busy or queued-for model is never evicted and never expires.
 * 4. A keep-alive timer runs only while a model is idle; 0 unloads at once, negative never.
 * 5. The estimated bytes of loaded models stay within the budget, and at most `maxLoadedModels`
 *    are loaded: the least recently used idle model makes room, or the load is refused.
 * 6. A runner that dies is forgotten at once; the next request starts a fresh one.
 */
export class Scheduler {
  readonly #slots = new Map<string, Slot>();
  #disposed = false;

  constructor(private readonly deps: SchedulerDeps) {}

  /**
   * Waits until `record` is loaded (loading it if needed) and free, then leases it. Aborting
   * `signal` while waiting gives up the place in the queue.
   */
  async acquire(record: ModelRecord, variant: ModelVariant, signal?: AbortSignal): Promise<Lease> {
    if (this.#disposed) throw new LodgeError('unavailable', 'Lodge is shutting down.');
    const started = this.deps.clock.now();
    let slot = this.#slots.get(record.id);
    if (slot && slot.variant.name !== variant.name) {
      if (slot.busy || slot.queue.length > 0) {
        throw new LodgeError(
          'conflict',
          `${record.id} is loaded as ${slot.variant.name} and busy; retry, or ask for that variant.`,
          {
            retryAfterSeconds: 1,
          },
        );
      }
      await this.#unload(slot, 'another variant was requested');
      slot = undefined;
    }
    slot ??= this.#load(record, variant);
    const info = await slot.loaded;
    await this.#enqueue(slot, signal);
    return this.#lease(slot, info, this.deps.clock.now() - started);
  }

  /** Loads a model without running anything, and keeps it for `keepAliveMs` (Ollama's empty request). */
  async preload(record: ModelRecord, variant: ModelVariant, keepAliveMs?: number): Promise<LoadedInfo> {
    const lease = await this.acquire(record, variant);
    lease.release(keepAliveMs);
    return lease.info;
  }

  /** Unloads a model now, or as soon as its current request ends. False when it was not loaded. */
  async unload(id: string): Promise<boolean> {
    const slot = this.#slots.get(id);
    if (!slot) return false;
    if (slot.busy || slot.queue.length > 0) slot.unloadWhenIdle = true;
    else await this.#unload(slot, 'unloaded on request');
    return true;
  }

  /** The loaded models, with their runner's memory where it answers. */
  running(): RunningModel[] {
    return [...this.#slots.values()]
      .filter((slot) => slot.info !== null)
      .map((slot) => {
        const info = slot.info as LoadedInfo;
        return {
          id: slot.record.id,
          task: slot.record.task,
          variant: slot.variant.name,
          provider: info.provider,
          skippedProviders: info.skipped,
          pid: slot.runner.pid ?? null,
          estimatedBytes: slot.estimatedBytes,
          loadedAt: slot.loadedAt,
          loadMs: info.loadMs,
          lastUsedAt: slot.lastUsedAt,
          busy: slot.busy,
          queueLength: slot.queue.length,
          expiresAt: slot.busy ? null : slot.expiresAt,
          contextLength: info.contextLength,
        };
      });
  }

  /** The runner of a loaded model, for stats. */
  runnerOf(id: string): RunnerProcess | null {
    return this.#slots.get(id)?.runner ?? null;
  }

  /** Stops every runner and fails every waiting request. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await Promise.all([...this.#slots.values()].map((slot) => this.#unload(slot, 'Lodge is shutting down')));
  }

  #load(record: ModelRecord, variant: ModelVariant): Slot {
    const settings = this.deps.settings();
    const estimatedBytes = Math.max(variant.bytes * OVERHEAD_FACTOR, variant.bytes + OVERHEAD_BYTES);
    this.#makeRoom(record.id, estimatedBytes, settings);

    const runner = this.deps.spawn(record.id);
    let settle!: { resolve: (info: LoadedInfo) => void; reject: (error: Error) => void };
    const loaded = new Promise<LoadedInfo>((resolve, reject) => (settle = { resolve, reject }));
    // Every request for this model awaits `loaded`; this keeps an unawaited failure from going unhandled.
    loaded.catch(() => undefined);
    const slot: Slot = {
      record,
      variant,
      runner,
      estimatedBytes,
      loaded,
      info: null,
      loadedAt: 0,
      lastUsedAt: this.deps.clock.now(),
      busy: false,
      queue: [],
      expiresAt: null,
      timer: null,
      unloadWhenIdle: false,
    };
    runner.ready
      .then(() =>
        runner.load({
          modelId: record.id,
          task: record.task,
          dir: record.dir,
          modelFile: variant.file,
          providers: record.preset.providers ?? settings.providers,
          threads: settings.threads,
          cacheDir: this.deps.cacheDir,
        }),
      )
      .then(
        (info) => {
          slot.info = info;
          slot.loadedAt = this.deps.clock.now();
          this.deps.logger.info(
            {
              model: record.id,
              variant: variant.name,
              provider: info.provider,
              skipped: info.skipped,
              loadMs: Math.round(info.loadMs),
            },
            `loaded ${record.id} on ${info.provider}`,
          );
          settle.resolve(info);
        },
        (error: unknown) => {
          this.#forget(slot);
          void runner.stop(1000).catch(() => undefined);
          const failure =
            error instanceof LodgeError && error.code === 'model_load_failed'
              ? error
              : new LodgeError(
                  'model_load_failed',
                  `${record.id} could not be loaded: ${(error as Error).message}`,
                  {},
                  { cause: error },
                );
          this.deps.logger.warn({ model: record.id, err: failure.message }, `could not load ${record.id}`);
          settle.reject(failure);
        },
      );
    runner.on('exit', ({ signal, code, expected }) => {
      if (!expected)
        this.deps.logger.error(
          { model: record.id, signal, code },
          `the runner for ${record.id} stopped unexpectedly`,
        );
      this.#forget(slot);
      const error = new LodgeError(
        'runner_crashed',
        `The runner for ${record.id} stopped (${signal ?? `exit code ${code}`}) before this request could start.`,
      );
      for (const waiter of slot.queue.splice(0)) waiter.fail(error);
    });
    this.#slots.set(record.id, slot);
    return slot;
  }

  /** Evicts least recently used idle models until `bytes` more fit; refuses when they cannot. */
  #makeRoom(id: string, bytes: number, settings: SchedulerSettings): void {
    const gib = (value: number) => `${(value / 1024 ** 3).toFixed(1)} GiB`;
    if (bytes > settings.memoryBudgetBytes) {
      throw new LodgeError(
        'model_load_failed',
        `${id} needs about ${gib(bytes)} of memory, more than the ${gib(settings.memoryBudgetBytes)} Lodge may use. Choose a smaller variant, or raise the memory budget.`,
      );
    }
    const used = () => [...this.#slots.values()].reduce((sum, slot) => sum + slot.estimatedBytes, 0);
    while (this.#slots.size >= settings.maxLoadedModels || used() + bytes > settings.memoryBudgetBytes) {
      const idle = [...this.#slots.values()]
        .filter((slot) => slot.info !== null && !slot.busy && slot.queue.length === 0)
        .sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
      if (!idle) {
        throw new LodgeError(
          'unavailable',
          `Cannot load ${id} now: the loaded models are all busy and there is no room for another. Retry shortly.`,
          { retryAfterSeconds: 2 },
        );
      }
      void this.#unload(idle, `making room for ${id}`);
    }
  }

  #enqueue(slot: Slot, signal?: AbortSignal): Promise<void> {
    if (!slot.busy && slot.queue.length === 0) {
      this.#claim(slot);
      return Promise.resolve();
    }
    if (slot.queue.length >= this.deps.settings().queueLimit) {
      return Promise.reject(
        new LodgeError(
          'queue_full',
          `${slot.record.id} already has ${slot.queue.length} requests waiting. Retry shortly.`,
          { retryAfterSeconds: 1 },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', abandon);
          this.#claim(slot);
          resolve();
        },
        fail: (error) => {
          signal?.removeEventListener('abort', abandon);
          reject(error);
        },
      };
      const abandon = () => {
        const index = slot.queue.indexOf(waiter);
        if (index !== -1) slot.queue.splice(index, 1);
        reject(new LodgeError('cancelled', 'The request was cancelled while it waited for the model.'));
      };
      signal?.addEventListener('abort', abandon, { once: true });
      slot.queue.push(waiter);
    });
  }

  #claim(slot: Slot): void {
    slot.busy = true;
    slot.expiresAt = null;
    if (slot.timer !== null) this.deps.clock.clearTimeout(slot.timer);
    slot.timer = null;
  }

  #lease(slot: Slot, info: LoadedInfo, waitedMs: number): Lease {
    let released = false;
    return {
      runner: slot.runner,
      info,
      variant: slot.variant,
      waitedMs,
      release: (keepAliveMs) => {
        if (released) return;
        released = true;
        slot.busy = false;
        slot.lastUsedAt = this.deps.clock.now();
        if (!this.#slots.has(slot.record.id) || this.#slots.get(slot.record.id) !== slot) return;
        const next = slot.queue.shift();
        if (next) {
          next.grant();
          return;
        }
        if (slot.unloadWhenIdle) {
          void this.#unload(slot, 'unloaded on request');
          return;
        }
        this.#expireAfter(slot, keepAliveMs ?? this.deps.settings().keepAliveMs);
      },
    };
  }

  #expireAfter(slot: Slot, keepAliveMs: number): void {
    if (keepAliveMs === 0) {
      void this.#unload(slot, 'keep-alive 0');
      return;
    }
    if (keepAliveMs < 0 || !Number.isFinite(keepAliveMs)) {
      slot.expiresAt = null;
      return;
    }
    slot.expiresAt = this.deps.clock.now() + keepAliveMs;
    slot.timer = this.deps.clock.setTimeout(() => {
      if (!slot.busy && slot.queue.length === 0) void this.#unload(slot, 'keep-alive expired');
    }, keepAliveMs);
  }

  async #unload(slot: Slot, reason: string): Promise<void> {
    this.#forget(slot);
    for (const waiter of slot.queue.splice(0))
      waiter.fail(new LodgeError('unavailable', `${slot.record.id} was unloaded (${reason}).`));
    this.deps.logger.info({ model: slot.record.id, reason }, `unloading ${slot.record.id}`);
    await slot.runner.stop();
  }

  #forget(slot: Slot): void {
    if (slot.timer !== null) this.deps.clock.clearTimeout(slot.timer);
    slot.timer = null;
    if (this.#slots.get(slot.record.id) === slot) this.#slots.delete(slot.record.id);
  }
}
