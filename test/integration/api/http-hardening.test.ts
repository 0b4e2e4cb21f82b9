import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiFamily } from '../../../src/shared/contract/system';
import { startTestCore, type TestCore } from '../../helpers/core';
import { errorMessage, expectFamilyError, rawRequest } from './family-errors';

/** One GET route of each family that answers 200 to a plain request from this machine. */
const FAMILY_PATHS: readonly (readonly [ApiFamily, string])[] = [
  ['openai', '/v1/models'],
  ['ollama', '/api/tags'],
  ['kserve', '/v2'],
  ['app', '/app/info'],
];

/** Writes `raw` bytes on a fresh socket and resolves with everything the server sent back. */
function rawExchange(base: string, raw: string): Promise<string> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    // The server may close while the client still writes; what it answered before counts.
    socket.on('error', (error) => (chunks.length > 0 ? undefined : reject(error)));
    socket.end(raw);
  });
}

describe('HTTP hardening: Host header and URL encoding', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore();
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('serves each family to a well-formed loopback Host', async () => {
    const port = new URL(core.url).port;
    for (const [, path] of FAMILY_PATHS) {
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
        expect((await rawRequest(core.url, { path, headers: { host } })).status, `${host} ${path}`).toBe(200);
      }
    }
  });

  it.each([
    ['localhost:1@evil', 400],
    ['[::1].evil', 400],
    ['127.0.0.1:80:80', 400],
    ['localhost:99999', 400],
    ['localhost:80 evil', 400],
    ['localhost/evil', 400],
    ['evil@localhost', 400],
    ['[::1', 400],
    ['::1', 400],
    // Well-formed but foreign: the parser must not let these pass for loopback either.
    ['localhost.evil', 403],
    ['127.0.0.1.nip.io', 403],
  ])('refuses Host %j with a %i in every family’s shape', async (host, status) => {
    for (const [family, path] of FAMILY_PATHS) {
      const answer = await rawRequest(core.url, { path, headers: { host } });
      expect(answer.status, `${family} ${path}`).toBe(status);
      expectFamilyError(family, answer.body);
      expect(errorMessage(answer.body)).toMatch(status === 400 ? /Host header is malformed/ : /not allowed/);
    }
  });

  it.each([
    ['openai', '/v1/models/%E0%A4%A'],
    ['openai', '/v1/chat/completions%ZZ'],
    ['ollama', '/api/show/%E0%A4%A'],
    ['kserve', '/v2/models/%E0%A4%A/ready'],
    ['app', '/app/models/%E0%A4%A/x'],
  ] as const)(
    'answers a malformed percent-encoding under %s (%s) with a 400 in its shape',
    async (family, path) => {
      const answer = await rawRequest(core.url, { path });
      expect(answer.status).toBe(400);
      expectFamilyError(family, answer.body);
      expect(errorMessage(answer.body)).toMatch(/malformed percent-encoding/);
    },
  );

  it.each([
    ['openai', '/v1/models', 'X-Bad Header: 1', 400],
    ['ollama', '/api/tags', 'X-Bad Header: 1', 400],
    ['kserve', '/v2', `X-Big: ${'x'.repeat(20_000)}`, 431],
    ['app', '/app/info', `X-Big: ${'x'.repeat(20_000)}`, 431],
  ] as const)(
    'answers HTTP Node cannot parse under %s (%s) in its shape',
    async (family, path, header, status) => {
      const port = new URL(core.url).port;
      const answer = await rawExchange(
        core.url,
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${header}\r\n\r\n`,
      );
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expectFamilyError(family, JSON.parse(body));
    },
  );
});
