import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';

/** Sends bytes exactly as given (fetch always adds a proper Host) and resolves with the reply. */
function rawRequest(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    let reply = '';
    socket.on('data', (chunk) => (reply += chunk.toString()));
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
  });
}

const cores: TestCore[] = [];
async function core(options: Parameters<typeof startTestCore>[0] = {}) {
  const started = await startTestCore(options);
  cores.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(cores.splice(0).map((started) => started.dispose()));
});

describe('the core on a real socket', () => {
  it('boots on an ephemeral loopback port and answers /health', async () => {
    const { url } = await core();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${url}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(await response.json()).toMatchObject({ status: 'ok', version: expect.any(String) });
  });

  it('describes its routes at /openapi.json', async () => {
    const { url } = await core();
    const document = (await (await fetch(`${url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/health', '/app/info', '/app/settings', '/app/logs']),
    );
  });

  it("keeps Ollama's liveness answer at GET / for non-browser clients", async () => {
    const { url } = await core();
    const response = await fetch(`${url}/`);
    expect(await response.text()).toBe('Ollama is running');
  });

  it('creates the data directory layout', async () => {
    const { lodge } = await core();
    const { existsSync } = await import('node:fs');
    for (const path of [
      lodge.paths.database,
      lodge.paths.models,
      lodge.paths.downloads,
      lodge.paths.cache,
      lodge.paths.logs,
    ]) {
      expect(existsSync(path)).toBe(true);
    }
  });
});

describe('security rules', () => {
  it("refuses a foreign Host header in each family's error shape (DNS rebinding)", async () => {
    const { lodge } = await core();
    const inject = (url: string) => lodge.server.fastify.inject({ url, headers: { host: 'evil.example' } });
    const openai = await inject('/v1/models');
    expect(openai.statusCode).toBe(403);
    expect(openai.json()).toMatchObject({
      error: { type: 'permission_error', code: 'forbidden', param: null },
    });
    expect((await inject('/api/tags')).json()).toEqual({
      error: expect.stringMatching(/Host "evil.example" is not allowed/),
    });
    expect((await inject('/app/info')).json()).toMatchObject({ error: { code: 'forbidden' } });
    expect((await inject('/health')).statusCode).toBe(403);
  });

  it('refuses an empty Host header (":port" and none at all)', async () => {
    const { url } = await core();
    const port = new URL(url).port;
    expect(
      await rawRequest(url, `GET /health HTTP/1.1\r\nHost: :${port}\r\nConnection: close\r\n\r\n`),
    ).toMatch(/^HTTP\/1\.1 403/);
    expect(await rawRequest(url, 'GET /health HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.[01] 403/);
    expect(
      await rawRequest(url, `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
    ).toMatch(/^HTTP\/1\.1 200/);
  });

  it('refuses a foreign browser Origin with 403 for every method, before the route runs', async () => {
    const { url } = await core();
    const get = await fetch(`${url}/app/settings`, { headers: { origin: 'https://evil.example' } });
    expect(get.status).toBe(403);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    const patch = await fetch(`${url}/app/settings`, {
      method: 'PATCH',
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
      body: JSON.stringify({ logLevel: 'trace' }),
    });
    expect(patch.status).toBe(403);
    const settings = (await (await fetch(`${url}/app/settings`)).json()) as { values: { logLevel: string } };
    expect(settings.values.logLevel).toBe('warn');
  });

  it('answers CORS for its own origin and configured ones, preflights included', async () => {
    const { url } = await core({ flags: { origins: ['http://localhost:3000'] } });
    const own = await fetch(`${url}/health`, { headers: { origin: url } });
    expect(own.headers.get('access-control-allow-origin')).toBe(url);
    const preflight = await fetch(`${url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:3000',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-stainless-os',
        'access-control-request-private-network': 'true',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-stainless-os');
    expect(preflight.headers.get('access-control-allow-private-network')).toBe('true');
  });

  it('enforces the API key on every route but /health, comparing it exactly', async () => {
    const { url } = await core({ flags: { apiKey: 'test-key-123456' } });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const missing = await fetch(`${url}/v1/models`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await missing.json()).toMatchObject({
      error: { type: 'authentication_error', code: 'unauthorized' },
    });
    expect(
      (await fetch(`${url}/app/info`, { headers: { authorization: 'Bearer test-key-12345' } })).status,
    ).toBe(401);
    const ok = await fetch(`${url}/app/info`, { headers: { authorization: 'Bearer test-key-123456' } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ authRequired: true });
  });

  it('refuses to bind beyond loopback without a key', async () => {
    await expect(startTestCore({ flags: { host: '0.0.0.0' } })).rejects.toThrow(/without an API key/);
  });

  it('answers an oversized body with 413 in the family shape', async () => {
    const { lodge } = await core();
    const big = JSON.stringify({ input: 'x'.repeat(9 * 1024 * 1024) });
    const send = (url: string) =>
      lodge.server.fastify.inject({
        method: 'POST',
        url,
        payload: big,
        headers: { 'content-type': 'application/json' },
      });
    const openai = await send('/v1/embeddings');
    expect(openai.statusCode).toBe(413);
    expect(openai.json()).toMatchObject({
      error: { code: 'payload_too_large', type: 'invalid_request_error' },
    });
    const ollama = await send('/api/embed');
    expect(ollama.statusCode).toBe(413);
    expect(ollama.json()).toEqual({ error: expect.stringMatching(/larger than this route accepts/) });
    const app = await lodge.server.fastify.inject({
      method: 'PATCH',
      url: '/app/settings',
      payload: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(app.statusCode).toBe(413);
    expect(app.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });
});

describe('errors clients cause', () => {
  it('answers bad JSON and invalid fields with 400 naming the problem', async () => {
    const { url } = await core();
    const badJson = await fetch(`${url}/app/settings`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringMatching(/not valid JSON/) },
    });
    const invalid = await fetch(`${url}/app/settings`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ logLevel: 'loud', unknown: 1 }),
    });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { message: string } }).error.message).toMatch(
      /logLevel|unknown/,
    );
  });

  it('answers unknown routes with 404 in the family shape', async () => {
    const { url } = await core();
    expect(await (await fetch(`${url}/api/nothing`)).json()).toEqual({
      error: expect.stringMatching(/No route GET \/api\/nothing/),
    });
    expect((await fetch(`${url}/v2/nothing`)).status).toBe(404);
  });
});
