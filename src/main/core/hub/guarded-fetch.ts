import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { ReadableStream as WebStream } from 'node:stream/web';
import { isPublicAddress } from './address-policy';

/** How long a connection may stay silent (no header, no body byte) before it is given up. */
const IDLE_TIMEOUT_MS = 60_000;

/** How the hub client makes one HTTP GET; redirects are the caller's to follow. */
export type HubFetch = (
  url: URL,
  init: { readonly headers: Readonly<Record<string, string>>; readonly signal?: AbortSignal },
) => Promise<Response>;

/** The error a refused address gives; the hub client turns it into a `forbidden` LodgeError. */
export class PrivateAddressError extends Error {
  override readonly name = 'PrivateAddressError';

  constructor(readonly host: string) {
    super(`${host} is a private, loopback or otherwise internal address`);
  }
}

/** Resolves a host name to every address it has (injectable for tests). */
export type Resolver = (
  hostname: string,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, callback) =>
  dnsLookup(hostname, { all: true, verbatim: true }, callback);

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for `net.connect` that resolves `hostname`, refuses it when any address it resolves
 * to is not public (unless `trusted`), and hands the connection exactly the addresses it checked:
 * the check and the connect use one resolution, so DNS cannot change the answer in between.
 */
export function guardedLookup(
  trusted: boolean,
  resolve: Resolver = systemResolver,
): (hostname: string, options: LookupOptions, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    resolve(hostname, (error, found) => {
      if (error) return callback(error, []);
      const wanted = options.family === 4 || options.family === 6 ? options.family : null;
      const addresses = found.filter((entry) => wanted === null || entry.family === wanted);
      if (addresses.length === 0)
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      if (!trusted && addresses.some((entry) => !isPublicAddress(entry.address)))
        return callback(new PrivateAddressError(hostname), []);
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * An HTTP GET over node:http(s) whose every connection goes through {@link guardedLookup}: a host
 * that is not `trusted` (the configured hub's origin: scheme, host and port) must resolve to public addresses only, and an IP
 * literal must be one. Answers a WHATWG Response, as `fetch` does, without following redirects.
 */
export function guardedFetch(trusted: (url: URL) => boolean): HubFetch {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      const isTrusted = trusted(url);
      if (isIP(host) !== 0 && !isTrusted && !isPublicAddress(host)) {
        reject(new PrivateAddressError(url.hostname));
        return;
      }
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(
        url,
        {
          method: 'GET',
          headers: init.headers,
          lookup: guardedLookup(isTrusted),
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (message) => {
          const status = message.statusCode ?? 502;
          const empty = [101, 204, 205, 304].includes(status) || status < 200 || status > 599;
          try {
            const headers = headersOf(message.headers);
            if (empty) message.resume();
            resolve(
              new Response(empty ? null : webStream(message), {
                status: status >= 200 && status <= 599 ? status : 502,
                headers,
              }),
            );
          } catch (error) {
            // A header the WHATWG Headers refuses: the answer is unusable, not a crash.
            message.destroy();
            reject(error instanceof Error ? error : new Error('the hub sent an unreadable answer'));
          }
        },
      );
      request.on('error', reject);
      // Like fetch's own body and header timeouts: a hub that goes silent is an error to retry.
      request.setTimeout(IDLE_TIMEOUT_MS, () =>
        request.destroy(
          Object.assign(new Error(`no answer from ${url.host} for ${IDLE_TIMEOUT_MS / 1000} s`), {
            code: 'ETIMEDOUT',
          }),
        ),
      );
      request.end();
    });
}

function webStream(readable: Readable): ReadableStream<Uint8Array> {
  const stream: WebStream<Uint8Array> = Readable.toWeb(readable);
  return stream as ReadableStream<Uint8Array>;
}

function headersOf(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}
