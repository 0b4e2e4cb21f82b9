import { request } from 'node:http';
import { expect } from 'vitest';
import type { ApiFamily } from '../../../src/shared/contract/system';

/** An answer read over a raw connection: status, parsed JSON body (or the text) and the raw text. */
export interface RawAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
}

/**
 * Sends one request through node:http, which (unlike fetch) sends the Host header and the path
 * exactly as given: the only way to test hostile Host values and malformed percent-encodings.
 */
export function rawRequest(
  base: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: {
          ...(options.body !== undefined
            ? { 'content-length': String(Buffer.byteLength(options.body)) }
            : {}),
          ...options.headers,
        },
        setHost: options.headers?.host === undefined,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // Left as text: the assertions below then fail with it in view.
          }
          resolve({ status: response.statusCode ?? 0, body, text });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** Asserts `body` is an error in `family`'s own wire shape, with a message a client can show. */
export function expectFamilyError(family: ApiFamily, body: unknown): void {
  const message = expect.any(String);
  if (family === 'openai') {
    expect(body).toEqual({
      error: {
        message,
        type: expect.any(String),
        param: expect.toBeOneOf([null, expect.any(String)]),
        code: expect.any(String),
      },
    });
  } else if (family === 'anthropic') {
    expect(body).toEqual({
      type: 'error',
      error: { type: expect.stringMatching(/_error$|^request_too_large$/), message },
    });
  } else if (family === 'app') {
    expect(body).toEqual({ error: { code: expect.any(String), message } });
  } else {
    expect(body).toEqual({ error: message });
  }
}

/** The error message in any family's shape. */
export function errorMessage(body: unknown): string {
  if (typeof body !== 'object' || body === null || !('error' in body)) return '';
  const error = body.error;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string')
    return error.message;
  return '';
}
