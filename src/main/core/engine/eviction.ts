import { LodgeError } from '../errors';
import { inUse, type Slot } from './slot';

/** The limits a new load must fit in beside the loaded models. */
export interface RoomLimits {
  readonly maxLoadedModels: number;
  /** Bytes models may take in total. */
  readonly memoryBudgetBytes: number;
}

/**
 * The idle slots to unload, least recently used first, so that a model `id` needing `bytes` fits
 * beside the others in `limits` (invariant 5). Busy, queued-for and loading slots are never chosen
 * (invariant 3). Throws `model_load_failed` when the model alone exceeds the budget, and
 * `unavailable` when only unloading busy models would make room.
 */
export function planEviction(slots: Iterable<Slot>, id: string, bytes: number, limits: RoomLimits): Slot[] {
  const gib = (value: number) => `${(value / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes > limits.memoryBudgetBytes) {
    throw new LodgeError(
      'model_load_failed',
      `${id} needs about ${gib(bytes)} of memory, more than the ${gib(limits.memoryBudgetBytes)} Lodge may use. Choose a smaller variant, or raise the memory budget.`,
    );
  }
  const loaded = [...slots];
  const idle = loaded
    .filter((slot) => slot.info !== null && !inUse(slot))
    .sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  let count = loaded.length;
  let used = loaded.reduce((sum, slot) => sum + slot.estimatedBytes, 0);
  const evict: Slot[] = [];
  while (count >= limits.maxLoadedModels || used + bytes > limits.memoryBudgetBytes) {
    const next = idle[evict.length];
    if (!next) {
      throw new LodgeError(
        'unavailable',
        `Cannot load ${id} now: the loaded models are all busy and there is no room for another. Retry shortly.`,
        { retryAfterSeconds: 2 },
      );
    }
    evict.push(next);
    count--;
    used -= next.estimatedBytes;
  }
  return evict;
}
