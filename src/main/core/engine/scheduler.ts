import type { ExecutionProvider, QuantizeMode } from '../../../shared/engine';
import type { LoadedInfo } from '../../../shared/runner-protocol';
import type { SlotEvent, SlotState } from '../../../shared/slot-state';
import { LodgeError } from '../errors';
import type { ModelRecord, ModelVariant } from '../library/model-record';
import type { Logger } from '../logging/logger';
import {
  estimateBytes,
  KEEP_FOREVER,
  parallelOf,
  providersOf,
  quantizeOf,
  timerKeepAlive,
} from '../model-policy';
import { abandonment, cancelledWhile } from './abort';
import type { Clock } from './clock';
import { graceThenCut } from './drain';
import { planEviction } from './eviction';
import { loadFailure, sanitizeLoaded } from './load-error';
import type { MemoryInfo } from './hardware';
import type { RunnerProcess } from './runner-process';
import { runningModel, type RunningModel } from './running-model';
import { inUse, newCurrent, newSlot, slotEvent, type Current, type Slot, type Waiter } from './slot';

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
  /** Text generations one model decodes together, unless its preset says otherwise. */
  readonly parallel: number;
  /** Quantization at load for language models, unless its preset says otherwise. */
  readonly quantize: QuantizeMode;
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

export type { RunningModel } from './running-model';

/** The right to use a loaded model for one request. Release exactly once. */
export interface Lease {
  readonly runner: RunnerProcess;
  readonly info: LoadedInfo;
  readonly variant: ModelVariant;
  /** Time spent waiting for the model (loading and queueing), in ms. */
  readonly waitedMs: number;
  /** Aborted when Lodge shuts down and this request ran past the grace period: stop and release. */
  readonly signal: AbortSignal;
  /** Returns the model; `keepAliveMs` sets how long it stays loaded afterwards (default: settings). */
  release(keepAliveMs?: number): void;
}

/**
 * Owns every loaded model (Ollama's sched.go is the model). A slot moves
 * `loading → ready ⇄ busy → draining → unloading` and each change is published ({@link onSlot}).
 * Invariants:
 * 1. At most one runner per model id, one still stopping included; concurrent first requests share
 *    one load, and a model is never unloaded or switched to another variant while requests await
 *    its load.
 * 2. A runner serves at most its slot's `capacity` requests at once: as many generations as it
 *    decodes together (the model's `parallel`, 1 when it cannot batch), one request otherwise;
 *    the others wait in its bounded queue, in arrival order.
 * 3. A busy or queued-for model is never evicted and never expires.
 * 4. A keep-alive timer runs only while a model is idle; 0 unloads at once, negative (or longer
 *    than a timer can wait) never.
 * 5. The estimated bytes of loaded models stay within the budget, and at most `maxLoadedModels`
 *    are loaded: the least recently used idle model makes room, or the load is refused.
 * 6. A runner that dies is forgotten at once; requests still queued for it are retried once on a
 *    fresh runner, the one it was serving fails with `runner_crashed`.
 * 7. Once {@link drain} starts, nothing new is accepted and nothing queued starts (`shutting_down`).
 * Beside it: the slot itself (slot.ts), the eviction plan (eviction.ts, 3 and 5), the shutdown
 * grace (drain.ts, 7) and the running list (running-model.ts).
 */
export class Scheduler {
  readonly #slots = new Map<string, Slot>();
  /** Providers already said to be unavailable here: the terminal hears it once, not on every load. */
  readonly #announcedSkips = new Set<string>();
  readonly #listeners = new Set<(event: SlotEvent) => void>();
  /** Errors of queued requests whose runner died before they started: safe to retry once. */
  readonly #retryable = new WeakSet<Error>();
  readonly #stoppingRunners = new Set<Promise<void>>();
  /** Unloaded models whose runner has not exited yet, by id: a new load of the id waits for it. */
  readonly #unloading = new Map<string, Promise<void>>();
  #stopping = false;
  #stopped!: (error: LodgeError) => void;
  /** Rejects when shutdown begins, so requests awaiting a load stop waiting at once. */
  readonly #stopSignal = new Promise<never>((_, reject) => (this.#stopped = reject));

  constructor(private readonly deps: SchedulerDeps) {
    this.#stopSignal.catch(() => undefined);
  }

  /**
   * Waits until `record` is loaded (loading it if needed) and free, then leases it. Aborting
   * `signal` while waiting gives up the place in the queue. If the runner dies while the request
   * waits in its queue, it is retried once on a fresh runner.
   */
  async acquire(record: ModelRecord, variant: ModelVariant, signal?: AbortSignal): Promise<Lease> {
    const started = this.deps.clock.now();
    try {
      return await this.#acquireOnce(record, variant, started, signal);
    } catch (error) {
      if (!(error instanceof Error) || !this.#retryable.has(error)) throw error;
      this.deps.logger.warn(
        { model: record.id },
        `retrying a queued request for ${record.id} on a fresh runner`,
      );
      return this.#acquireOnce(record, variant, started, signal);
    }
  }

  /** Loads a model without running anything, and keeps it for `keepAliveMs` (Ollama's empty request). */
  async preload(record: ModelRecord, variant: ModelVariant, keepAliveMs?: number): Promise<LoadedInfo> {
    const lease = await this.acquire(record, variant);
    lease.release(keepAliveMs);
    return lease.info;
  }

  /**
   * Unloads a model now, or once the requests using or awaiting it are served (it drains). False
   * when it was not loaded.
   */
  async unload(id: string): Promise<boolean> {
    const slot = this.#slots.get(id);
    if (!slot) return false;
    if (inUse(slot)) {
      slot.unloadWhenIdle = true;
      if (slot.state !== 'loading') this.#setState(slot, 'draining');
    } else await this.#unload(slot, 'unloaded on request');
    return true;
  }

  /** The loaded models, with their runner's memory where it answers. */
  running(): RunningModel[] {
    return [...this.#slots.values()].flatMap((slot) => runningModel(slot) ?? []);
  }

  /** Every slot as a {@link SlotEvent}, loading ones included: what a new subscriber starts from. */
  slots(): SlotEvent[] {
    return [...this.#slots.values()].map((slot) => slotEvent(slot));
  }

  /** Calls `listener` on every slot state change; returns the unsubscribe. */
  onSlot(listener: (event: SlotEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The runner of a loaded model, for stats. */
  runnerOf(id: string): RunnerProcess | null {
    return this.#slots.get(id)?.runner ?? null;
  }

  /**
   * The first step of shutdown: accept nothing more, end every queued or loading request at once
   * with `shutting_down`, give the running ones `graceMs` to finish, then abort them (their lease's
   * signal) and wait briefly for them to stop.
   */
  async drain(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const error = shuttingDown(
      'Lodge is shutting down; this request was not started. Retry once Lodge is back.',
    );
    this.#stopped(error);
    for (const slot of this.#slots.values()) for (const waiter of slot.queue.splice(0)) waiter.fail(error);
    const running = () => [...this.#slots.values()].flatMap((slot) => slot.running);
    await graceThenCut(running, graceMs, this.deps.clock, this.deps.logger);
  }

  /** Stops every runner (and waits for those already stopping) and fails every waiting request. */
  async dispose(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#stopped(shuttingDown('Lodge is shutting down.'));
    }
    await Promise.all([...this.#slots.values()].map((slot) => this.#unload(slot, 'Lodge is shutting down')));
    // Runners stopped earlier (evicted, expired, unloaded during the drain) may still be exiting.
    await Promise.all([...this.#stoppingRunners]);
  }

  async #acquireOnce(
    record: ModelRecord,
    variant: ModelVariant,
    started: number,
    signal?: AbortSignal,
  ): Promise<Lease> {
    const { slot, info } = await this.#loaded(record, variant, signal);
    const current = await this.#enqueue(slot, signal);
    return this.#lease(slot, info, current, this.deps.clock.now() - started);
  }

  /**
   * The slot that serves `variant` of `record` once loaded: the loaded one, else a new load.
   * Invariant 1: a runner that is still stopping counts until it has exited, so a request that
   * finds one waits for it, then looks again (others may have loaded the model meanwhile); an idle
   * slot of another variant is unloaded first, one in use refuses the switch. NOTE: the first pass
   * runs synchronously within `acquire`, so a request counts as awaiting the load (and holds the
   * model from an unload) from its first moment.
   */
  async #loaded(
    record: ModelRecord,
    variant: ModelVariant,
    signal?: AbortSignal,
  ): Promise<{ slot: Slot; info: LoadedInfo }> {
    for (;;) {
      if (this.#stopping) throw shuttingDown('Lodge is shutting down and accepts no new requests.');
      if (signal?.aborted) throw cancelledWhile('the model');
      const slot = this.#slots.get(record.id);
      if (slot === undefined) {
        const stopping = this.#unloading.get(record.id);
        if (stopping === undefined) {
          const loading = this.#load(record, variant);
          return { slot: loading, info: await this.#awaitLoad(loading, signal) };
        }
        await stopping;
        continue;
      }
      if (slot.variant.name === variant.name) return { slot, info: await this.#awaitLoad(slot, signal) };
      if (inUse(slot)) {
        throw new LodgeError(
          'conflict',
          `${record.id} is ${slot.state === 'loading' ? 'loading' : 'loaded'} as ${slot.variant.name} and in use; retry, or ask for that variant.`,
          { retryAfterSeconds: 1 },
        );
      }
      await this.#unload(slot, 'another variant was requested');
    }
  }

  /** Waits for the slot's load; a client that leaves meanwhile stops waiting and gives up its place. */
  async #awaitLoad(slot: Slot, signal?: AbortSignal): Promise<LoadedInfo> {
    if (slot.info !== null) return slot.info;
    slot.loadWaiters++;
    this.#publish(slot);
    const gaveUp = abandonment(signal, 'its model to load');
    try {
      return await Promise.race([slot.loaded, this.#stopSignal, gaveUp.promise]);
    } finally {
      gaveUp.dispose();
      slot.loadWaiters--;
      if (signal?.aborted && slot.state === 'loading') this.#publish(slot);
    }
  }

  #load(record: ModelRecord, variant: ModelVariant): Slot {
    const settings = this.deps.settings();
    const estimatedBytes = estimateBytes(variant.bytes);
    this.#makeRoom(record.id, estimatedBytes, settings);

    const runner = this.deps.spawn(record.id);
    let settle!: { resolve: (info: LoadedInfo) => void; reject: (error: Error) => void };
    const loaded = new Promise<LoadedInfo>((resolve, reject) => (settle = { resolve, reject }));
    // Every request for this model awaits `loaded`; this keeps an unawaited failure from going unhandled.
    loaded.catch(() => undefined);
    const slot = newSlot({ record, variant, runner, estimatedBytes, loaded, now: this.deps.clock.now() });
    runner.ready
      .then(() =>
        runner.load({
          modelId: record.id,
          task: record.task,
          dir: record.dir,
          modelFile: variant.file,
          providers: providersOf(record, settings.providers),
          threads: settings.threads,
          cacheDir: this.deps.cacheDir,
          parallel: parallelOf(record, settings.parallel),
          quantize: quantizeOf(record, settings.quantize),
        }),
      )
      .then(
        (loadedInfo) => {
          if (slot.stopReason) {
            settle.reject(slot.stopReason);
            return;
          }
          const info = sanitizeLoaded(loadedInfo, record.dir);
          slot.info = info;
          slot.capacity = record.task === 'text-generation' ? Math.max(1, info.batching?.parallel ?? 1) : 1;
          slot.batchingNote = info.batching?.reason ?? null;
          slot.loadedAt = this.deps.clock.now();
          if (info.quantizeNote !== undefined)
            this.deps.logger.warn(
              { model: record.id },
              `${record.id} was not quantized at load: ${info.quantizeNote}`,
            );
          for (const skip of info.skipped) {
            if (this.#announcedSkips.has(skip.provider)) continue;
            this.#announcedSkips.add(skip.provider);
            this.deps.logger.info(
              { provider: skip.provider },
              `${skip.provider} is not available here (${skip.reason}); models run on what is`,
            );
          }
          this.deps.logger.info(
            {
              model: record.id,
              variant: variant.name,
              provider: info.provider,
              loadMs: Math.round(info.loadMs),
              ...(info.quantized ? { quantized: info.quantized, rewrite: info.quantizeSummary } : {}),
              ...(info.fusions !== undefined ? { fusions: info.fusions } : {}),
            },
            `loaded ${record.id} on ${info.provider}${info.quantized ? `, quantized to ${info.quantized} at load` : ''}`,
          );
          this.#setState(slot, slot.unloadWhenIdle ? 'draining' : 'ready');
          settle.resolve(info);
          // Nobody is left waiting (they gave up): it idles like any released model.
          if (slot.loadWaiters === 0) this.#idle(slot, this.deps.settings().keepAliveMs);
        },
        (error: unknown) => {
          this.#forget(slot);
          void this.#stopRunner(runner, 1000);
          if (slot.stopReason) {
            settle.reject(slot.stopReason);
            return;
          }
          const failure = loadFailure(record, error);
          this.deps.logger.warn(
            { model: record.id, err: error instanceof Error ? error.message : String(error) },
            `could not load ${record.id}`,
          );
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
      for (const waiter of slot.queue.splice(0)) {
        const error = new LodgeError(
          'runner_crashed',
          `The runner for ${record.id} stopped (${signal ?? `exit code ${code}`}) before this request could start.`,
        );
        this.#retryable.add(error);
        waiter.fail(error);
      }
    });
    this.#slots.set(record.id, slot);
    this.#publish(slot);
    return slot;
  }

  /** Evicts least recently used idle models until `bytes` more fit; refuses when they cannot. */
  #makeRoom(id: string, bytes: number, settings: SchedulerSettings): void {
    for (const slot of planEviction(this.#slots.values(), id, bytes, settings))
      void this.#unload(slot, `making room for ${id}`);
  }

  #enqueue(slot: Slot, signal?: AbortSignal): Promise<Current> {
    if (this.#stopping)
      return Promise.reject(shuttingDown('Lodge is shutting down; this request was not started.'));
    // A listener added to a signal that has already aborted never fires: check first.
    if (signal?.aborted) return Promise.reject(cancelledWhile('the model'));
    if (slot.running.length < slot.capacity && slot.queue.length === 0)
      return Promise.resolve(this.#claim(slot));
    if (slot.queue.length >= this.deps.settings().queueLimit) {
      return Promise.reject(
        new LodgeError(
          'queue_full',
          `${slot.record.id} already has ${slot.queue.length} requests waiting. Retry shortly.`,
          { retryAfterSeconds: 1 },
        ),
      );
    }
    return new Promise<Current>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (current) => {
          signal?.removeEventListener('abort', abandon);
          resolve(current);
        },
        fail: (error) => {
          signal?.removeEventListener('abort', abandon);
          reject(error);
        },
      };
      const abandon = () => {
        const index = slot.queue.indexOf(waiter);
        if (index !== -1) slot.queue.splice(index, 1);
        reject(cancelledWhile('the model'));
        this.#publishCounts(slot);
      };
      signal?.addEventListener('abort', abandon, { once: true });
      slot.queue.push(waiter);
      this.#publishCounts(slot);
    });
  }

  /** Takes one of the slot's places for a request: its keep-alive stops, it is busy. */
  #claim(slot: Slot): Current {
    const current = newCurrent();
    slot.running.push(current);
    slot.expiresAt = null;
    if (slot.timer !== null) this.deps.clock.clearTimeout(slot.timer);
    slot.timer = null;
    if (slot.state === 'ready') this.#setState(slot, 'busy');
    else this.#publishCounts(slot);
    return current;
  }

  #lease(slot: Slot, info: LoadedInfo, current: Current, waitedMs: number): Lease {
    let released = false;
    return {
      runner: slot.runner,
      info,
      variant: slot.variant,
      waitedMs,
      signal: current.controller.signal,
      release: (keepAliveMs) => {
        if (released) return;
        released = true;
        const index = slot.running.indexOf(current);
        if (index !== -1) slot.running.splice(index, 1);
        slot.lastUsedAt = this.deps.clock.now();
        current.settle();
        if (this.#slots.get(slot.record.id) !== slot) return;
        const next = slot.queue.shift();
        if (next) {
          next.grant(this.#claim(slot));
          return;
        }
        if (slot.running.length > 0) {
          this.#publishCounts(slot);
          return;
        }
        this.#idle(slot, keepAliveMs ?? this.deps.settings().keepAliveMs);
      },
    };
  }

  /** A slot nobody uses: unload it if asked to, else start its keep-alive. */
  #idle(slot: Slot, keepAliveMs: number): void {
    if (slot.unloadWhenIdle || this.#stopping) {
      void this.#unload(slot, this.#stopping ? 'Lodge is shutting down' : 'unloaded on request');
      return;
    }
    this.#setState(slot, 'ready');
    this.#expireAfter(slot, keepAliveMs);
  }

  #expireAfter(slot: Slot, keepAliveMs: number): void {
    if (keepAliveMs === 0) {
      void this.#unload(slot, 'keep-alive 0');
      return;
    }
    const ms = timerKeepAlive(keepAliveMs);
    if (ms === KEEP_FOREVER) {
      slot.expiresAt = null;
      return;
    }
    slot.expiresAt = this.deps.clock.now() + ms;
    slot.timer = this.deps.clock.setTimeout(() => {
      slot.timer = null;
      if (!inUse(slot)) void this.#unload(slot, 'keep-alive expired');
    }, ms);
  }

  /** Stops a slot's runner; a second call (another request, dispose) waits for the same stop. */
  async #unload(slot: Slot, reason: string): Promise<void> {
    if (slot.stopped !== null) return slot.stopped;
    this.#forget(slot);
    const error = this.#stopping
      ? shuttingDown(`Lodge is shutting down; ${slot.record.id} was unloaded.`)
      : new LodgeError('unavailable', `${slot.record.id} was unloaded (${reason}).`);
    slot.stopReason = error;
    for (const waiter of slot.queue.splice(0)) waiter.fail(error);
    this.#setState(slot, 'unloading');
    this.deps.logger.info({ model: slot.record.id, reason }, `unloading ${slot.record.id}`);
    const stopped = this.#stopRunner(slot.runner);
    slot.stopped = stopped;
    this.#unloading.set(slot.record.id, stopped);
    await stopped;
    if (this.#unloading.get(slot.record.id) === stopped) this.#unloading.delete(slot.record.id);
  }

  /** Stops a runner, remembering it until it has exited so {@link dispose} can wait for it. */
  async #stopRunner(runner: RunnerProcess, graceMs?: number): Promise<void> {
    const stopped = runner.stop(graceMs).catch(() => undefined);
    this.#stoppingRunners.add(stopped);
    await stopped;
    this.#stoppingRunners.delete(stopped);
  }

  #forget(slot: Slot): void {
    if (slot.timer !== null) this.deps.clock.clearTimeout(slot.timer);
    slot.timer = null;
    if (this.#slots.get(slot.record.id) === slot) this.#slots.delete(slot.record.id);
  }

  #setState(slot: Slot, state: SlotState): void {
    if (slot.state === state) return;
    slot.state = state;
    this.#publish(slot);
  }

  /**
   * Publishes a change of a slot's active or waiting count within one state. A slot with one place
   * says it all with its states (busy, ready), so only one that serves several publishes these.
   */
  #publishCounts(slot: Slot): void {
    if (slot.capacity > 1) this.#publish(slot);
  }

  #publish(slot: Slot): void {
    const event = slotEvent(slot);
    for (const listener of this.#listeners) listener(event);
  }
}

function shuttingDown(message: string): LodgeError {
  return new LodgeError('shutting_down', message, { retryAfterSeconds: 5 });
}
