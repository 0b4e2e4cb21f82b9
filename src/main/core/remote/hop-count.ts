// How many Lodge servers a request has already passed through. A remote engine may lead back to
// this Lodge (its own URL, or another Lodge that has this one as an engine); then `me/me/me/…/x`
// went round once per prefix, each hop holding a connection open, as many as the name was long.
// Each call to a remote carries the count on; a request that has gone round too often is refused.
import { AsyncLocalStorage } from 'node:async_hooks';
import { LodgeError } from '../errors';

/** The request header that carries the count between Lodge servers. */
export const HOP_HEADER = 'x-lodge-hops';

/** The most Lodge servers one request may pass through before reaching a model. */
export const MAX_HOPS = 8;

const current = new AsyncLocalStorage<number>();

/**
 * Reads the count a request came with and keeps it for the calls to remotes made while answering
 * it (an `onRequest` hook); answers the `invalid_request` naming the loop for one past
 * {@link MAX_HOPS}, else null.
 */
export function enterHops(header: string | string[] | undefined): LodgeError | null {
  const text = Array.isArray(header) ? header[0] : header;
  const hops = text !== undefined && /^\d{1,6}$/.test(text) ? Number(text) : 0;
  if (hops > MAX_HOPS)
    return new LodgeError(
      'invalid_request',
      `This request has passed through ${hops} Lodge servers: a remote engine leads back to one it came from. Check the engines' base URLs and the model name's engine prefixes.`,
    );
  current.enterWith(hops);
  return null;
}

/** The header value for a call to a remote made now: one more hop than the request being answered. */
export function nextHops(): string {
  return String((current.getStore() ?? 0) + 1);
}
