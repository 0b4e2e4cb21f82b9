/**
 * Where a loaded (or loading) model is in its life, as the scheduler tracks it:
 * `loading → ready ⇄ busy → draining → unloading`. `draining` serves the requests already
 * waiting, then unloads; `unloading` is the runner being stopped.
 */
export const SLOT_STATES = ['loading', 'ready', 'busy', 'draining', 'unloading'] as const;

/** One of {@link SLOT_STATES}. */
export type SlotState = (typeof SLOT_STATES)[number];

/**
 * The `slot` event on `/app/events`: a model's slot changed state. After `unloading` the model is
 * no longer loaded; the next request starts a new slot at `loading`.
 */
export interface SlotEvent {
  /** The model id. */
  readonly id: string;
  /** The variant being loaded or loaded. */
  readonly variant: string;
  readonly state: SlotState;
  /** Requests waiting: for the load while `loading`, in the queue otherwise. */
  readonly waiting: number;
  /** Requests it serves now (generations decoding together, with continuous batching). */
  readonly active: number;
  /** Requests it serves at once at most. */
  readonly parallel: number;
}
