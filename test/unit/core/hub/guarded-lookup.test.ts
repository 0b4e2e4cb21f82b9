import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  guardedLookup,
  PrivateAddressError,
  type Resolver,
} from '../../../../src/main/core/hub/guarded-fetch';

/** A resolver that answers each call with the next of `answers` (a name that rebinds). */
function rebinding(answers: LookupAddress[][]): Resolver & { calls: number } {
  const resolver = Object.assign(
    (_hostname: string, callback: (error: null, addresses: LookupAddress[]) => void) => {
      callback(null, answers[Math.min(resolver.calls++, answers.length - 1)] ?? []);
    },
    { calls: 0 },
  );
  return resolver;
}

const lookupOnce = (lookup: ReturnType<typeof guardedLookup>, options: { all?: boolean; family?: number }) =>
  new Promise<{ error: Error | null; address: unknown; family?: number | undefined }>((resolve) =>
    lookup('cdn.example', options, (error, address, family) => resolve({ error, address, family })),
  );

describe('the connection lookup of the hub client', () => {
  it('hands the connection exactly the addresses it checked, from one resolution', async () => {
    const resolver = rebinding([
      [{ address: '93.184.216.34', family: 4 }],
      [{ address: '127.0.0.1', family: 4 }],
    ]);
    const lookup = guardedLookup(false, resolver);
    expect(await lookupOnce(lookup, { all: true })).toEqual({
      error: null,
      address: [{ address: '93.184.216.34', family: 4 }],
      family: undefined,
    });
    expect(resolver.calls).toBe(1);
    // The next connection resolves again, and the rebound answer is refused.
    const second = await lookupOnce(lookup, {});
    expect(second.error).toBeInstanceOf(PrivateAddressError);
  });

  it('refuses a name when any of its addresses is internal', async () => {
    const lookup = guardedLookup(
      false,
      rebinding([
        [
          { address: '2606:4700::1', family: 6 },
          { address: '::ffff:10.0.0.1', family: 6 },
        ],
      ]),
    );
    expect((await lookupOnce(lookup, { all: true })).error).toBeInstanceOf(PrivateAddressError);
  });

  it('lets the configured hub resolve to loopback, and answers the single-address form', async () => {
    const lookup = guardedLookup(true, rebinding([[{ address: '127.0.0.1', family: 4 }]]));
    expect(await lookupOnce(lookup, {})).toEqual({ error: null, address: '127.0.0.1', family: 4 });
  });
});
