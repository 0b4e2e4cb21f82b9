import type { LoadedInfo } from '../../../shared/runner-protocol';
import type { SlotEvent, SlotState } from '../../../shared/slot-state';
import type { LodgeError } from '../errors';
import type { ModelRecord, ModelVariant } from '../library/model-record';
import type { RunnerProcess } from './runner-process';

/** A request waiting in a slot's queue. */
export interface Waiter {
  grant(current: Current): void;
  fail(error: Error): void;
}

/** A request a slot is serving now, and how to stop it at shutdown. */
export interface Current {
  readonly controller: AbortController;
  readonly released: Promise<void>;
  readonly settle: () => void;
}

/** One model's place in the scheduler: its runner, its load, its queue and its state. */
export interface Slot {
  readonly record: ModelRecord;
  readonly variant: ModelVariant;
  readonly runner: RunnerProcess;
  readonly estimatedBytes: number;
  /** Resolves once the model is loaded; shared by every request that arrives meanwhile. */
  readonly loaded: Promise<LoadedInfo>;
  state: SlotState;
  /** Requests awaiting `loaded` (each holds the model from being unloaded under it). */
  loadWaiters: number;
  info: LoadedInfo | null;
  loadedAt: number;
  lastUsedAt: number;
  /** The requests it serves now, at most `capacity`. */
  readonly running: Current[];
  /**
   * Requests it serves at once: 1 until loaded, then the generations its runner decodes together
   * (the `parallel` asked for, or 1 when the model cannot batch); 1 for other tasks.
   */
  capacity: number;
  /** Why a language model runs one generation at a time though more were asked for; null otherwise. */
  batchingNote: string | null;
  readonly queue: Waiter[];
  expiresAt: number | null;
  timer: unknown;
  /** Unload once the requests already waiting are served (the `draining` state once loaded). */
  unloadWhenIdle: boolean;
  /** Why the slot was stopped on purpose; what requests awaiting its load are told. */
  stopReason: LodgeError | null;
  /** Settles once the runner has exited, after an unload began; null until then. */
  stopped: Promise<void> | null;
}

/** A slot for a model whose runner has just been started: `loading`, nobody waiting yet. */
export function newSlot(start: {
  readonly record: ModelRecord;
  readonly variant: ModelVariant;
  readonly runner: RunnerProcess;
  readonly estimatedBytes: number;
  readonly loaded: Promise<LoadedInfo>;
  readonly now: number;
}): Slot {
  const { now, ...fixed } = start;
  return {
    ...fixed,
    state: 'loading',
    loadWaiters: 0,
    info: null,
    loadedAt: 0,
    lastUsedAt: now,
    running: [],
    capacity: 1,
    batchingNote: null,
    queue: [],
    expiresAt: null,
    timer: null,
    unloadWhenIdle: false,
    stopReason: null,
    stopped: null,
  };
}

/** Whether a request is using the slot, queued for it, or awaiting its load. */
export function inUse(slot: Slot): boolean {
  return slot.running.length > 0 || slot.queue.length > 0 || slot.loadWaiters > 0;
}

/** A slot as `/app/events` publishes it. */
export function slotEvent(slot: Slot): SlotEvent {
  return {
    id: slot.record.id,
    variant: slot.variant.name,
    state: slot.state,
    waiting: slot.state === 'loading' ? slot.loadWaiters : slot.queue.length,
    active: slot.running.length,
    parallel: slot.capacity,
  };
}

/** A fresh {@link Current}: its abort controller, and a promise that settles on release. */
export function newCurrent(): Current {
  let settle!: () => void;
  const released = new Promise<void>((resolve) => (settle = resolve));
  return { controller: new AbortController(), released, settle };
}
