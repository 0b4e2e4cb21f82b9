import { LodgeError } from '../errors';

/** A promise that rejects with `cancelled` once a signal aborts, and how to stop listening. */
export interface Abandonment {
  readonly promise: Promise<never>;
  /** Removes the abort listener; call it once the wait is over, however it ended. */
  dispose(): void;
}

/** The `cancelled` error of a request whose client left while it waited (`what`: for what). */
export function cancelledWhile(what: string): LodgeError {
  return new LodgeError('cancelled', `The request was cancelled while it waited for ${what}.`);
}

/**
 * Rejects with {@link cancelledWhile} when `signal` aborts, at once if it already has; never
 * settles without a signal. Race it against a wait so a client that leaves stops waiting.
 */
export function abandonment(signal: AbortSignal | undefined, what: string): Abandonment {
  if (!signal) return { promise: new Promise<never>(() => undefined), dispose: () => undefined };
  let onAbort = (): void => undefined;
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(cancelledWhile(what));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => undefined);
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
